import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { toActivityFailure } from '../activities/activity-failure';
import { AppError } from '../platform/errors';

// One rule for every activity (tools, plans, triggers, plugins): what a retry cannot fix fails at once.
describe('toActivityFailure', () => {
  const nonRetryable = (error: unknown) => {
    const mapped = toActivityFailure(error);
    return mapped instanceof ApplicationFailure ? { type: mapped.type, nonRetryable: mapped.nonRetryable } : 'retried';
  };

  test('permanent codes and sandbox failures the same code hits again are non-retryable, typed by their code', () => {
    for (const code of ['NOT_FOUND', 'FORBIDDEN', 'VALIDATION_FAILED', 'UNPROCESSABLE', 'CONFLICT', 'INVALID_STATE', 'TOOL_DISABLED'] as const) {
      expect(nonRetryable(new AppError(code, 'no'))).toEqual({ type: code, nonRetryable: true });
    }
    for (const reason of ['call_limit', 'out_of_memory', 'stack_overflow', 'output_too_large']) {
      expect(nonRetryable(new AppError('TOOL_FAILED', 'no', { reason }))).toEqual({ type: 'TOOL_FAILED', nonRetryable: true });
    }
    const zod = z.object({ a: z.number() }).safeParse({ a: 'x' }).error;
    expect(nonRetryable(zod)).toEqual({ type: 'VALIDATION_FAILED', nonRetryable: true });
  });

  test('what may pass on another attempt is left for Temporal to retry', () => {
    for (const error of [new AppError('TOOL_FAILED', 'network', { reason: 'network' }), new AppError('TOOL_FAILED', 'sandbox', { reason: 'timeout' }), new AppError('TOOL_TIMEOUT', 'slow'), new AppError('DATABASE_UNAVAILABLE', 'down'), new AppError('UNAVAILABLE', 'busy'), new Error('boom')]) {
      expect(nonRetryable(error)).toBe('retried');
    }
  });
});
