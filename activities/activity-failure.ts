import { ApplicationFailure } from '@temporalio/activity';
import { AppError, type ErrorCode } from '../platform/errors';

/** Errors a retry cannot fix: the workflow sees them as non-retryable failures of their code. */
const PERMANENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['NOT_FOUND', 'UNPROCESSABLE', 'FORBIDDEN', 'VALIDATION_FAILED', 'TOOL_LOCKED', 'TOOL_DISABLED', 'APPROVAL_REQUIRED', 'CONFLICT']);

/** Maps a permanent AppError to a non-retryable ApplicationFailure of the same type; returns anything else unchanged. */
export function toActivityFailure(error: unknown): unknown {
  if (error instanceof AppError && PERMANENT.has(error.code)) {
    return ApplicationFailure.create({ type: error.code, message: error.message, details: [error.details], nonRetryable: true });
  }
  return error;
}
