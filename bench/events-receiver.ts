// Child process of bench/events.ts: a second bus on its own connections that reports, for each
// received event, how long after its `sentAt` it reached the handler.
import { openEventBus } from '../activities/events/open-event-bus';
import { createLogger } from '../platform/logger';
import { wallNow } from './wall-clock';

async function main(): Promise<void> {
  const bus = await openEventBus(process.argv[2]!, createLogger('bench-receiver', 'warn'));
  const latencies: number[] = [];
  bus.subscribe('bench-receiver', 'plugin.bench.latency', (event) => {
    latencies.push(wallNow() - (event.data as { sentAt: number }).sentAt);
    if (latencies.length === Number(process.argv[3])) {
      process.send!({ latencies });
      void bus.close().then(() => process.exit(0));
    }
  });
  process.send!({ ready: true });
}

void main();
