import { fork } from 'node:child_process';
import path from 'node:path';
import { openEventBus } from '../activities/events/open-event-bus';
import { createLogger } from '../platform/logger';
import { startBenchPostgres } from './bench-postgres';
import { percentiles, type Benchmark, type BenchFigure } from './bench-types';
import { wallNow } from './wall-clock';

const logger = createLogger('bench', 'warn');

async function inProcessThroughput(databaseUrl: string): Promise<BenchFigure[]> {
  const bus = await openEventBus(databaseUrl, logger);
  const total = 50_000;
  let received = 0;
  let allReceived!: () => void;
  const done = new Promise<void>((resolve) => (allReceived = resolve));
  bus.subscribe('bench', 'plugin.bench.**', () => {
    if (++received === total) allReceived();
  });
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
  const log = bus.metrics().store!.log;
  await bus.close();
  return [
    { name: 'publish → in-process delivery (audit log on)', value: total / (delivered / 1000), unit: 'events/s', target: 10_000, higherIsBetter: true },
    { name: 'publish → delivered and committed to event_log', value: total / (logged / 1000), unit: 'events/s', target: 10_000, higherIsBetter: true },
    { name: 'event_log rows per batch (group commit)', value: log.written / log.batches, unit: 'rows' },
  ];
}

type ReceiverMessage = { ready?: boolean; latencies?: number[] };

async function crossProcessLatency(databaseUrl: string): Promise<BenchFigure[]> {
  const count = 1000;
  const child = fork(path.join(__dirname, 'events-receiver.ts'), [databaseUrl, String(count)], { execArgv: ['--import', 'tsx'] });
  const messages: ReceiverMessage[] = [];
  let wake: (() => void) | undefined;
  child.on('message', (m) => {
    messages.push(m as ReceiverMessage);
    wake?.();
  });
  const next = async (): Promise<ReceiverMessage> => {
    while (messages.length === 0) {
      if (child.exitCode !== null) throw new Error(`event receiver exited with ${child.exitCode}`);
      await new Promise<void>((resolve) => (wake = resolve));
    }
    return messages.shift()!;
  };
  await next();
  const bus = await openEventBus(databaseUrl, logger);
  for (let i = 0; i < count; i++) {
    bus.emit('plugin.bench.latency', { i, sentAt: wallNow() }, 'bench');
    await new Promise((resolve) => setTimeout(resolve, 1)); // ~1,000 events/s offered, one at a time
  }
  const { latencies } = await next();
  await bus.close();
  const { p50, p99 } = percentiles(latencies!);
  return [
    { name: 'publish → delivery in another process, p50', value: p50, unit: 'ms', target: 10, higherIsBetter: false },
    { name: 'publish → delivery in another process, p99', value: p99, unit: 'ms' },
  ];
}

/** Event bus throughput (in process, audit log on) and cross-process latency over LISTEN/NOTIFY. */
export const eventBus: Benchmark = {
  name: 'event bus',
  async run() {
    const pg = await startBenchPostgres();
    try {
      return [...(await inProcessThroughput(pg.databaseUrl)), ...(await crossProcessLatency(pg.databaseUrl))];
    } finally {
      await pg.stop();
    }
  },
};
