import { Writable } from 'node:stream';

/** A stream a pino logger writes to, keeping every line for the test to read back. */
export function createLogCapture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    /** Everything written so far. */
    text: () => chunks.join(''),
    /** Every line parsed as JSON (throws if one is not JSON). */
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
