import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { retryWhileDatabaseUnavailable } from '../activities/database-outage';
import { freePort } from '../platform/local/ports';
import { stackInfo } from './support/stack-info';

/** A real "connection refused" from node-postgres (a port nobody listens on). */
async function refusedError(): Promise<unknown> {
  const url = new URL(stackInfo().databaseUrl);
  url.port = String(await freePort());
  return new pg.Client({ connectionString: url.toString() }).connect().then(() => undefined, (error: unknown) => error);
}

describe('retryWhileDatabaseUnavailable (inside an activity)', () => {
  test('retries while PostgreSQL is unreachable, heartbeating, then returns the result', async () => {
    const refused = await refusedError();
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    let calls = 0;
    const result = await env.run(() => retryWhileDatabaseUnavailable(async () => {
      calls++;
      if (calls < 4) throw refused;
      return 'written';
    }));
    expect(result).toBe('written');
    expect(calls).toBe(4);
    expect(beats).toBe(3);
  });

  test('any other error is rethrown at once', async () => {
    const env = new MockActivityEnvironment();
    let calls = 0;
    const bad = Object.assign(new Error('duplicate key'), { code: 'P2002' });
    await expect(env.run(() => retryWhileDatabaseUnavailable(async () => {
      calls++;
      throw bad;
    }))).rejects.toBe(bad);
    expect(calls).toBe(1);
  });

  test('a cancelled activity stops waiting', async () => {
    const refused = await refusedError();
    const env = new MockActivityEnvironment();
    let calls = 0;
    const running = env.run(() => retryWhileDatabaseUnavailable(async () => {
      calls++;
      if (calls === 2) env.cancel();
      throw refused;
    }));
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    expect(calls).toBe(2);
  });
});
