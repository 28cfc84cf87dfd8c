import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { z } from 'zod';
import { AppError } from '../../platform/errors';
import type { IssueScope, ScopedIssue } from './templated-args';

/** Largest JSON-schema (serialised) a custom or plugin tool may declare. */
export const MAX_SCHEMA_BYTES = 32 * 1024;
/** Compiled validators kept; beyond it the cache starts over (schemas recompile on next use). */
const MAX_COMPILED = 2_000;

export interface ArgumentIssue {
  path: string;
  message: string;
}

/** An issue with its path as segments and what its rule reads (templated-args.ts). */
export type LocatedIssue = ArgumentIssue & ScopedIssue;

/** What checking arguments against a tool's schema found: the arguments the tool receives, or every issue. */
export type ParsedArgs = { ok: true; args: unknown } | { ok: false; issues: LocatedIssue[] };

/** The issue as callers see it: path and message. */
export function argumentIssue({ path, message }: ArgumentIssue): ArgumentIssue {
  return { path, message };
}

/** UNPROCESSABLE for a tool's arguments; the message names the first issue, since a plan step or the CLI shows only the message. */
export function invalidArguments(tool: string, issues: ArgumentIssue[]): AppError {
  const [first] = issues;
  const summary = first === undefined ? '' : `: ${first.path} ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`;
  return new AppError('UNPROCESSABLE', `invalid arguments for ${tool}${summary}`.slice(0, 500), { issues: issues.map(argumentIssue) });
}

/** ajv keywords that read only the object or array they are reported at: its type, its keys, its length. */
const AJV_SHAPE = new Set(['type', 'required', 'additionalProperties', 'propertyNames', 'minProperties', 'maxProperties', 'minItems', 'maxItems', 'additionalItems', 'dependentRequired', 'dependencies']);
const AJV_ALTERNATIVE = new Set(['anyOf', 'oneOf', 'if', 'not']);

function ajvScope(e: ErrorObject): IssueScope {
  if (AJV_ALTERNATIVE.has(e.keyword)) return 'alternative';
  // An error inside `propertyNames` judges a key, whatever the keyword.
  return AJV_SHAPE.has(e.keyword) || e.propertyName !== undefined ? 'shape' : 'value';
}

function ajvIssues(errors: ErrorObject[] | null | undefined): LocatedIssue[] {
  return (errors ?? []).map((e) => ({
    path: e.instancePath || '/',
    message: `${e.message ?? 'is invalid'}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`,
    at: e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')),
    scope: ajvScope(e),
  }));
}

/** zod issue codes that read only the object or array they are reported at. */
const ZOD_SHAPE = new Set(['invalid_type', 'unrecognized_keys', 'invalid_key', 'too_small', 'too_big']);

function zodScope(code: string): IssueScope {
  if (code === 'invalid_union') return 'alternative';
  if (code === 'custom') return 'anywhere';
  return ZOD_SHAPE.has(code) ? 'shape' : 'value';
}

/** The issues of a built-in tool's zod schema, located like ajv's. */
export function zodIssues(error: z.ZodError): LocatedIssue[] {
  return error.issues.map((i) => ({ path: `/${i.path.map(String).join('/')}`, message: i.message, at: i.path.map(String), scope: zodScope(i.code) }));
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
    /** Checks the arguments against the schema (UNPROCESSABLE when the schema itself is unusable). */
    parse(schema: Record<string, unknown>, args: unknown): ParsedArgs {
      const validate = compile(schema);
      return validate(args) ? { ok: true, args } : { ok: false, issues: ajvIssues(validate.errors) };
    },
  };
}
export type ArgsValidator = ReturnType<typeof createArgsValidator>;
