import { aclBench } from './acl';
import type { Benchmark, BenchFigure } from './bench-types';
import { eventBus } from './events';
import { loadApi, loadBurst, loadMemory } from './load';
import { observabilityBench } from './observability';
import { planSchedulingBench } from './plan-scheduling';
import { pluginInstall } from './plugins';
import { planBench } from './plans';
import { stackStartup } from './stack-startup';
import { temporalProfile } from './temporal-profile';
import { toolsBench } from './tools';
import { triggersBench } from './triggers';

/** Every benchmark `npm run bench` runs, in order; `npm run bench -- <name>` runs the matching ones. */
const BENCHMARKS: Benchmark[] = [stackStartup, aclBench, toolsBench, eventBus, pluginInstall, planBench, planSchedulingBench, triggersBench, observabilityBench, temporalProfile, loadBurst, loadApi, loadMemory];

function format(figure: BenchFigure): string {
  const value = figure.value >= 100 ? figure.value.toFixed(0) : figure.value.toFixed(2);
  let line = `  ${figure.name.padEnd(58)} ${value.padStart(10)} ${figure.unit}`;
  if (figure.target !== undefined) {
    const ratio = figure.value / figure.target;
    const ok = figure.higherIsBetter ? ratio >= 1 : ratio <= 1;
    line += `   target ${figure.higherIsBetter ? '≥' : '≤'} ${figure.target} ${figure.unit}, ratio ${ratio.toFixed(2)} ${ok ? 'ok' : 'MISSED'}`;
  }
  return line;
}

async function main(): Promise<void> {
  const filter = process.argv[2];
  for (const bench of BENCHMARKS.filter((b) => !filter || b.name.includes(filter))) {
    console.log(`${bench.name}`);
    for (const figure of await bench.run()) console.log(format(figure));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
