import { fork } from 'node:child_process';
import path from 'node:path';
import { openEventBus } from '../activities/events/open-event-bus';
import { createLogger } from '../platform/logger';
import { startBenchPostgres } from './bench-postgres';
import { quantile, report, wallNow } from './bench-stats';

const logger = createLogger('bench', 'warn');

async function inProcessThroughput(databaseUrl: string): Promise<void> {
  const bus = await openEventBus(databaseUrl, logger);
  const total = 50_000;
  let received = 0;
  let allReceived!: () => void;
  const done = new Promise<void>((resolve) => (allReceived = resolve));
  bus.subscribe('bench', 'plugin.bench.**', () => {
    if (++received === total) allReceived();
  });
  // warm-up
  for (let i = 0; i < 1000; i++) bus.emit('plugin.bench.warmup', { i }, 'bench');
  await bus.flush();

  const start = performance.now();
  for (let i = 0; i < total; i++) {
    bus.emit('plugin.bench.tick', { i, note: 'a small payload' }, 'bench');
    if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve)); // let delivery and the log writer run
  }
  await done;
  const delivered = performance.now() - start;
  await bus.flush();
  const logged = performance.now() - start;
  const m = bus.metrics();
  report('publish → in-process delivery (audit log on)', total / (delivered / 1000), 'events/s', 10_000, true);
  report('publish → delivered and committed to event_log', total / (logged / 1000), 'events/s', 10_000, true);
  console.log(`  event_log: ${m.store!.log.written} rows in ${m.store!.log.batches} batches, dropped ${m.store!.log.dropped}`);
  await bus.close();
}

async function crossProcessLatency(databaseUrl: string): Promise<void> {
  const count = 1000;
  const child = fork(path.join(__dirname, 'events-receiver.ts'), [databaseUrl, String(count)], { execArgv: ['--import', 'tsx'] });
  const messages: { ready?: boolean; latencies?: number[] }[] = [];
  const next = () =>
    new Promise<{ ready?: boolean; latencies?: number[] }>((resolve, reject) => {
      if (messages.length > 0) return resolve(messages.shift()!);
      child.once('message', () => resolve(messages.shift()!));
      child.once('exit', (code) => reject(new Error(`receiver exited with ${code}`)));
    });
  child.on('message', (m) => messages.push(m as { ready?: boolean }));
  await next();
  const bus = await openEventBus(databaseUrl, logger);
  for (let i = 0; i < count; i++) {
    bus.emit('plugin.bench.latency', { i, sentAt: wallNow() }, 'bench');
    await new Promise((resolve) => setTimeout(resolve, 1)); // ~1,000 events/s offered, one at a time
  }
  const { latencies } = await next();
  report('publish → delivery in another process, p50', quantile(latencies!, 0.5), 'ms', 10, false);
  console.log(`  p90 ${quantile(latencies!, 0.9).toFixed(2)} ms, p99 ${quantile(latencies!, 0.99).toFixed(2)} ms, max ${Math.max(...latencies!).toFixed(2)} ms over ${count} events`);
  await bus.close();
}

/** Event bus throughput (in process, audit log on) and cross-process latency over LISTEN/NOTIFY. */
export async function run(): Promise<void> {
  const pg = await startBenchPostgres();
  try {
    await inProcessThroughput(pg.databaseUrl);
    await crossProcessLatency(pg.databaseUrl);
  } finally {
    await pg.stop();
  }
}
