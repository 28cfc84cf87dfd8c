// The bare-Temporal baseline of the plan benchmark: three no-op activities in sequence.
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(i: number): Promise<number> }>({ startToCloseTimeout: '30 seconds' });

/** Three no-op activities, one after the other. */
export async function bareThreeActivities(): Promise<number> {
  let sum = 0;
  for (let i = 0; i < 3; i++) sum += await noop(i);
  return sum;
}
