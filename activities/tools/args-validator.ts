import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { AppError } from '../../platform/errors';

/** Largest JSON-schema (serialised) a custom or plugin tool may declare. */
export const MAX_SCHEMA_BYTES = 32 * 1024;
/** Compiled validators kept; beyond it the cache starts over (schemas recompile on next use). */
const MAX_COMPILED = 2_000;

export interface ArgumentIssue {
  path: string;
  message: string;
}

/** UNPROCESSABLE for a tool's arguments; the message names the first issue, since a plan step or the CLI shows only the message. */
export function invalidArguments(tool: string, issues: ArgumentIssue[]): AppError {
  const [first] = issues;
  const summary = first === undefined ? '' : `: ${first.path} ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`;
  return new AppError('UNPROCESSABLE', `invalid arguments for ${tool}${summary}`.slice(0, 500), { issues });
}

function issuesOf(errors: ErrorObject[] | null | undefined): ArgumentIssue[] {
  return (errors ?? []).map((e) => ({ path: e.instancePath || '/', message: `${e.message ?? 'is invalid'}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}` }));
}

/**
 * Compiles tool JSON-schemas with ajv (all errors, strict mode) and caches the validators by
 * schema text. Schemas are checked at registration, so a bad one never reaches execution.
 */
export function createArgsValidator() {
  const ajv = new Ajv({ allErrors: true, strict: true, validateFormats: false });
  const compiled = new Map<string, ValidateFunction>();

  const compile = (schema: Record<string, unknown>): ValidateFunction => {
    const key = JSON.stringify(schema);
    let validate = compiled.get(key);
    if (!validate) {
      if (Buffer.byteLength(key) > MAX_SCHEMA_BYTES) throw new AppError('UNPROCESSABLE', `parameters schema exceeds ${MAX_SCHEMA_BYTES} bytes`);
      if (schema.type !== 'object') throw new AppError('UNPROCESSABLE', 'parameters schema must have type "object"');
      try {
        validate = ajv.compile(schema);
      } catch (error) {
        throw new AppError('UNPROCESSABLE', `parameters is not a valid JSON schema: ${(error as Error).message}`);
      }
      if (compiled.size >= MAX_COMPILED) compiled.clear();
      compiled.set(key, validate);
    }
    return validate;
  };

  return {
    /** Throws UNPROCESSABLE when the schema is not a usable object JSON-schema. */
    check(schema: Record<string, unknown>): void {
      compile(schema);
    },
    /** Returns the arguments when valid; throws UNPROCESSABLE listing every issue otherwise. */
    validate(tool: string, schema: Record<string, unknown>, args: unknown): unknown {
      const validate = compile(schema);
      if (validate(args)) return args;
      throw invalidArguments(tool, issuesOf(validate.errors));
    },
  };
}
export type ArgsValidator = ReturnType<typeof createArgsValidator>;
