import { ApplicationFailure } from '@temporalio/activity';
import { ZodError } from 'zod';
import { AppError, type ErrorCode } from '../platform/errors';

/** Errors a retry cannot fix: the workflow sees them as non-retryable failures of their code. */
const PERMANENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['NOT_FOUND', 'UNPROCESSABLE', 'FORBIDDEN', 'VALIDATION_FAILED', 'TOOL_LOCKED', 'TOOL_DISABLED', 'APPROVAL_REQUIRED', 'CONFLICT', 'INVALID_STATE', 'RESULT_TOO_LARGE']);
/** TOOL_FAILED reasons the same sandboxed code and arguments hit again on every attempt. */
const PERMANENT_TOOL_FAILURES: ReadonlySet<unknown> = new Set(['call_limit', 'out_of_memory', 'stack_overflow', 'output_too_large']);

function isPermanent(error: AppError): boolean {
  return PERMANENT.has(error.code) || (error.code === 'TOOL_FAILED' && PERMANENT_TOOL_FAILURES.has((error.details as { reason?: unknown } | undefined)?.reason));
}

/**
 * Maps a permanent AppError (and a ZodError, as VALIDATION_FAILED) to a non-retryable
 * ApplicationFailure of the same type; returns anything else unchanged, for Temporal to retry.
 */
export function toActivityFailure(error: unknown): unknown {
  if (error instanceof AppError && isPermanent(error)) {
    return ApplicationFailure.create({ type: error.code, message: error.message, details: [error.details], nonRetryable: true });
  }
  if (error instanceof ZodError) return ApplicationFailure.create({ type: 'VALIDATION_FAILED', message: error.message, details: [{ issues: error.issues }], nonRetryable: true });
  return error;
}

/** Runs `run`; what it throws goes through toActivityFailure (permanent: non-retryable; anything else: retried). */
export async function permanentFailures<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toActivityFailure(error);
  }
}
