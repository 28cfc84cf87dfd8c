/** Error codes and the HTTP status each maps to: the one table the API uses. */
export const ErrorCodes = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  INVALID_STATE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNPROCESSABLE: 422,
  RESULT_TOO_LARGE: 422,
  TOOL_LOCKED: 403,
  TOOL_DISABLED: 409,
  APPROVAL_REQUIRED: 409,
  TOOL_FAILED: 422,
  TOOL_TIMEOUT: 504,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATABASE_UNAVAILABLE: 503,
} as const;
export type ErrorCode = keyof typeof ErrorCodes;

/** A failure the caller can act on; `code` decides the HTTP status and the workflow failure type. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return ErrorCodes[this.code];
  }
}

/** Shorthand for the common not-found case. */
export function notFound(what: string, id: string): AppError {
  return new AppError('NOT_FOUND', `${what} '${id}' does not exist`, { id });
}
