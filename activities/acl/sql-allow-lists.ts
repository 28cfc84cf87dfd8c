/**
 * What a statement checked by validateQuery may contain. Everything not listed is rejected:
 * the lists are allow-lists so a PostgreSQL feature nobody thought about is denied by default.
 */

/** Parse-tree node types a permitted statement may contain. */
export const ALLOWED_NODES: ReadonlySet<string> = new Set([
  'SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'CommonTableExpr',
  'RangeVar', 'RangeSubselect', 'RangeFunction', 'JoinExpr', 'ResTarget', 'MultiAssignRef', 'SetToDefault',
  'ColumnRef', 'A_Star', 'A_Const', 'ParamRef', 'A_Expr', 'BoolExpr', 'NullTest', 'BooleanTest', 'SubLink',
  'CaseExpr', 'CaseWhen', 'CoalesceExpr', 'MinMaxExpr', 'TypeCast', 'FuncCall', 'NamedArgExpr', 'SQLValueFunction',
  'SortBy', 'WindowDef', 'GroupingSet', 'RowExpr', 'A_ArrayExpr', 'A_Indirection', 'A_Indices', 'CollateClause',
  'IndexElem', 'List', 'String', 'Integer', 'Float', 'Boolean', 'BitString',
]);

/**
 * Side-effect-free functions (aggregates, window, string, math, date, JSON, set-returning); no
 * padding/repeat memory bombs: no lpad, rpad, repeat, nor format (its width, '%400000000s', pads).
 */
export const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([
  // aggregates
  'count', 'sum', 'avg', 'min', 'max', 'array_agg', 'string_agg', 'json_agg', 'jsonb_agg', 'json_object_agg',
  'jsonb_object_agg', 'bool_and', 'bool_or', 'every', 'stddev', 'variance', 'percentile_cont', 'percentile_disc', 'mode',
  // window
  'row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead', 'first_value', 'last_value', 'nth_value',
  // strings
  'lower', 'upper', 'initcap', 'length', 'char_length', 'character_length', 'octet_length', 'substr', 'substring', 'trim', 'btrim',
  'ltrim', 'rtrim', 'replace', 'concat', 'concat_ws', 'left', 'right', 'position', 'strpos', 'split_part',
  'starts_with', 'reverse', 'regexp_replace', 'regexp_match', 'regexp_matches', 'regexp_split_to_array',
  'md5', 'encode', 'decode', 'to_hex', 'string_to_array', 'array_to_string', 'translate', 'overlay',
  // numbers
  'abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'mod', 'power', 'sqrt', 'exp', 'ln', 'log', 'sign', 'greatest', 'least',
  'random', 'width_bucket',
  // dates
  'now', 'date_trunc', 'date_part', 'extract', 'age', 'to_char', 'to_date', 'to_timestamp', 'to_number', 'make_date',
  'make_timestamp', 'make_timestamptz', 'make_interval', 'date_bin', 'justify_days', 'justify_hours', 'isfinite',
  'timezone', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp',
  // JSON
  'to_json', 'to_jsonb', 'row_to_json', 'json_build_object', 'jsonb_build_object', 'json_build_array', 'jsonb_build_array',
  'json_object', 'jsonb_object', 'jsonb_set', 'jsonb_insert', 'jsonb_strip_nulls', 'jsonb_pretty', 'json_typeof', 'jsonb_typeof',
  'json_array_length', 'jsonb_array_length', 'json_extract_path', 'jsonb_extract_path', 'json_extract_path_text',
  'jsonb_extract_path_text', 'json_array_elements', 'jsonb_array_elements', 'json_array_elements_text',
  'jsonb_array_elements_text', 'json_each', 'jsonb_each', 'json_each_text', 'jsonb_each_text', 'json_object_keys',
  'jsonb_object_keys', 'jsonb_path_query', 'jsonb_path_query_array', 'jsonb_path_query_first', 'jsonb_path_exists',
  'jsonb_path_match',
  // arrays and sets
  'array_length', 'array_position', 'array_positions', 'array_append', 'array_prepend', 'array_cat', 'array_remove',
  'array_replace', 'cardinality', 'unnest', 'generate_series',
  // misc (some are what LIKE ... ESCAPE, SIMILAR TO and OVERLAPS parse into)
  'coalesce', 'nullif', 'gen_random_uuid', 'like_escape', 'similar_to_escape', 'overlaps',
]);

/** Types a value may be cast to (the last name of the cast's type; `pg_catalog.` is the only schema allowed). */
export const ALLOWED_CAST_TYPES: ReadonlySet<string> = new Set([
  'int2', 'int4', 'int8', 'smallint', 'integer', 'int', 'bigint', 'numeric', 'decimal', 'float4', 'float8', 'real',
  'text', 'varchar', 'bpchar', 'char', 'bool', 'boolean', 'date', 'time', 'timetz', 'timestamp', 'timestamptz',
  'interval', 'json', 'jsonb', 'uuid', 'bytea',
]);

/** Locked tables no principal may read through SQL, whatever its grants: credentials and the migration ledger. */
export const UNREADABLE_TABLES: ReadonlySet<string> = new Set(['api_keys', 'schema_migrations']);
