import { createUuidV7 } from '../platform/uuid-v7';

describe('UUIDv7 ids (event ids: the history orders by timestamp, then id)', () => {
  const sorted = (ids: string[]) => [...ids].sort();

  test('are RFC 9562 version 7 UUIDs carrying the millisecond', () => {
    const id = createUuidV7(() => 0x0123456789ab)();
    expect(id).toMatch(/^01234567-89ab-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('made in one millisecond, more than the counter holds, they sort in the order they were made', () => {
    const next = createUuidV7(() => 1_700_000_000_000);
    const ids = Array.from({ length: 10_000 }, next);
    expect(sorted(ids)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('a clock that steps back does not break the order', () => {
    const times = [5_000, 6_000, 4_000, 4_000, 7_000];
    const next = createUuidV7(() => times.shift()!);
    const ids = Array.from({ length: 5 }, next);
    expect(sorted(ids)).toEqual(ids);
  });
});
