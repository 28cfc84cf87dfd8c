import { AppError } from '../../platform/errors';

/** The running byte count the read wrapper adds to each row (removed before the rows are answered). */
export const RESULT_BYTES_COLUMN = 'ownpilot$result_bytes';
/** Text of the error the read wrapper makes PostgreSQL raise on the first row past the cap. */
const GUARD_MARKER = 'ownpilot: result too large at byte ';

/**
 * Wraps one validated SELECT so PostgreSQL itself stops it: after `maxRows + 1` rows, and with an
 * error on the first row that takes the running size of the rows (their text form) past
 * `maxBytes`, so that row and all after it are never built nor sent. SQL has no RAISE, so the
 * guard is a failing cast carrying a marker; the ELSE branch is reached only past the cap.
 */
export function guardedReadSql(statement: string, maxRows: number, maxBytes: number): string {
  // The newlines end any trailing comment of the statement, which parsed as exactly one SELECT.
  return `SELECT * FROM (
  SELECT ownpilot_query.*, sum(octet_length(ownpilot_query::text)) OVER (ROWS UNBOUNDED PRECEDING) AS "${RESULT_BYTES_COLUMN}"
  FROM (
${statement}
) AS ownpilot_query
  LIMIT ${maxRows + 1}
) AS ownpilot_sized
WHERE CASE WHEN "${RESULT_BYTES_COLUMN}" <= ${maxBytes} THEN true ELSE ('${GUARD_MARKER}' || "${RESULT_BYTES_COLUMN}")::int IS NULL END`;
}

/** The one failure of a result over the cap: 422 RESULT_TOO_LARGE, nothing of the result answered. */
export function resultTooLarge(maxBytes: number): AppError {
  return new AppError('RESULT_TOO_LARGE', `the result is larger than ${maxBytes} bytes: select fewer or narrower rows`, { maxBytes });
}

/** Whether a PostgreSQL error is the read wrapper's guard firing. */
export function isResultGuardError(error: unknown): boolean {
  return (error as { code?: unknown }).code === '22P02' && error instanceof Error && error.message.includes(GUARD_MARKER);
}

/** Throws RESULT_TOO_LARGE when the rows, serialised as the API answers them (JSON), exceed `maxBytes`. */
export function assertResultWithin(rows: readonly unknown[], maxBytes: number): void {
  if (Buffer.byteLength(JSON.stringify(rows)) > maxBytes) throw resultTooLarge(maxBytes);
}
