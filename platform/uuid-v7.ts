import { randomBytes } from 'node:crypto';

/**
 * A UUIDv7 maker (RFC 9562): 48 bits of milliseconds, then a 12-bit counter that orders the ids
 * made within one millisecond, then 62 random bits. The ids of one maker sort (as text, too) in
 * the order they were made, also when the clock steps back or more than 4,096 come in one
 * millisecond: the counter then carries into the timestamp, which runs slightly ahead.
 */
export function createUuidV7(clock: () => number = Date.now): () => string {
  let lastMs = -1;
  let counter = 0;
  return () => {
    const now = clock();
    if (now > lastMs) {
      lastMs = now;
      counter = 0;
    } else if (++counter > 0xfff) {
      lastMs++;
      counter = 0;
    }
    const bytes = randomBytes(16);
    bytes.writeUIntBE(lastMs, 0, 6);
    bytes[6] = 0x70 | (counter >> 8);
    bytes[7] = counter & 0xff;
    bytes[8] = 0x80 | (bytes[8]! & 0x3f);
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}
