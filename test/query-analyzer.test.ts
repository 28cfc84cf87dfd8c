import { analyzeQuery, loadSqlParser } from '../activities/acl/query-analyzer';

// The analyser alone (no database): everyday SQL must pass with exactly the right table accesses,
// so the allow-lists deny what is dangerous without denying what is ordinary.
describe('analyzeQuery on ordinary statements', () => {
  beforeAll(() => loadSqlParser());

  test.each([
    ["SELECT EXTRACT(YEAR FROM now()), substring('abc' FROM 1 FOR 2), trim(both ' ' from 'x'), position('a' in 'abc')", []],
    ["SELECT 1 WHERE 'a' LIKE 'a%' ESCAPE '!' OR 'b' SIMILAR TO 'b' OR (now(), now()) OVERLAPS (now(), now())", []],
    ["SELECT now() AT TIME ZONE 'UTC', date '2020-01-01', interval '1 day', 1::varchar(10), 1::double precision, now()::timestamp with time zone", []],
    ["SELECT data->>'a', data @> '{}'::jsonb, NULLIF(1, 2), COALESCE(NULL, 1), GREATEST(1, 2) FROM t", [['t', 'read']]],
    ['SELECT x FROM t WHERE x = ANY(ARRAY(SELECT y FROM u)) GROUP BY ROLLUP(x) ORDER BY x NULLS LAST LIMIT 10 OFFSET 5', [['t', 'read'], ['u', 'read']]],
    ['SELECT * FROM ROWS FROM (generate_series(1, 2)) g, LATERAL (SELECT * FROM t WHERE t.id = g) s', [['t', 'read']]],
    ['INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET b = (SELECT max(s) FROM other)', [['t', 'write'], ['t', 'read'], ['other', 'read']]],
    ['UPDATE t SET a = DEFAULT, (b, c) = (1, 2) FROM u WHERE t.id = u.id', [['t', 'write'], ['t', 'read'], ['u', 'read']]],
    ['DELETE FROM public.t USING u WHERE t.id = u.id RETURNING t.*', [['t', 'delete'], ['t', 'read'], ['u', 'read']]],
    ['WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r, t', [['t', 'read']]],
    ['SELECT row_number() OVER (PARTITION BY a ORDER BY b), count(*) FILTER (WHERE c) FROM t GROUP BY a, b, c', [['t', 'read']]],
    ['VALUES (1, 2), (3, 4)', []],
    ['TABLE t', [['t', 'read']]],
  ])('%s', (sql, access) => {
    expect(analyzeQuery(sql).access.map((a) => [a.table, a.privilege])).toEqual(access);
  });
});
