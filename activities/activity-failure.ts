import { ApplicationFailure } from '@temporalio/activity';
import { AppError, type ErrorCode } from '../platform/errors';

/** Errors a retry cannot fix: the workflow sees them as non-retryable failures of their code. */
const PERMANENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['NOT_FOUND', 'UNPROCESSABLE', 'FORBIDDEN', 'VALIDATION_FAILED', 'TOOL_LOCKED', 'TOOL_DISABLED', 'APPROVAL_REQUIRED', 'CONFLICT']);
/** TOOL_FAILED reasons the same tool and arguments hit again on every attempt. */
const PERMANENT_TOOL_FAILURES: ReadonlySet<unknown> = new Set(['call_limit']);

function isPermanent(error: AppError): boolean {
  return PERMANENT.has(error.code) || (error.code === 'TOOL_FAILED' && PERMANENT_TOOL_FAILURES.has((error.details as { reason?: unknown } | undefined)?.reason));
}

/** Maps a permanent AppError to a non-retryable ApplicationFailure of the same type; returns anything else unchanged. */
export function toActivityFailure(error: unknown): unknown {
  if (error instanceof AppError && isPermanent(error)) {
    return ApplicationFailure.create({ type: error.code, message: error.message, details: [error.details], nonRetryable: true });
  }
  return error;
}
