import { PlanStep } from '../activities/plans/plan-schemas';
import type { StepStatus } from '../workflows/plan-types';
import { createReadySteps, type PassActions, type ReadySteps } from '../workflows/ready-steps';
import { randomFrom } from './support/chaos-knobs';
import { fullScanScheduler } from './support/full-scan-scheduler';

// The plan workflow's scheduling order is part of its recorded histories: the index of ready steps
// must act exactly as a scan of every step in definition order did, across finishes, skips,
// interruptions and rollbacks to a checkpoint.

type MakeScheduler = (steps: readonly PlanStep[], statusOf: (id: string) => StepStatus) => ReadySteps;

const tool = (id: string, dependsOn: string[] = []) => PlanStep.parse({ id, kind: 'tool', tool: 'core.echo', dependsOn });

function shuffled<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A random acyclic plan (definition order unrelated to dependency order; a dependency may be named twice). */
function randomPlan(random: () => number): PlanStep[] {
  const topological = shuffled(Array.from({ length: 3 + Math.floor(random() * 40) }, (_, i) => `s${i}`), random);
  const steps = topological.map((id, k) => tool(id, k === 0 ? [] : Array.from({ length: Math.floor(random() * 4) }, () => topological[Math.floor(random() * k)]!)));
  return shuffled(steps, random);
}

/**
 * Runs a random plan to its end with the scheduler `make` builds (the same seed, the same plan and
 * the same choices), returning what it did, in order: starts, skips, ends, interruptions, rollbacks.
 */
function simulate(seed: number, make: MakeScheduler): string[] {
  const random = randomFrom(seed);
  const steps = randomPlan(random);
  const concurrency = 1 + Math.floor(random() * 4);
  const status = new Map<string, StepStatus>(steps.map((s) => [s.id, 'pending']));
  const skipRequested = new Set<string>();
  let inflight: string[] = [];
  let order: string[] = [];
  const log: string[] = [];
  const ready = make(steps, (id) => status.get(id)!);
  const finish = (id: string, how: StepStatus) => {
    status.set(id, how);
    order.push(id);
    ready.finished(id);
    log.push(`${how} ${id}`);
  };
  const actions: PassActions = {
    blocked: (s) => skipRequested.has(s.id) || s.dependsOn.some((d) => status.get(d) !== 'completed'),
    room: () => concurrency - inflight.length,
    skip: (s) => finish(s.id, 'skipped'),
    start: (s) => {
      status.set(s.id, 'running');
      inflight.push(s.id);
      log.push(`start ${s.id}`);
    },
  };
  let rollbacks = 0;
  for (let round = 0; order.length < steps.length && round < 50 * steps.length; round++) {
    // Paused now and then: what becomes ready meanwhile waits for the next pass.
    if (random() < 0.8) for (let again = true; again; ) again = ready.pass(actions);
    if (inflight.length === 0 && random() < 0.8) continue;
    if (rollbacks < 3 && order.length > 0 && random() < 0.05) {
      // A rollback to a checkpoint: steps in flight end first; some unchosen branches stay skipped.
      for (const id of inflight) finish(id, 'completed');
      inflight = [];
      const undone = order.slice(Math.floor(random() * order.length));
      for (const id of undone) {
        status.set(id, 'pending');
        if (random() < 0.7) skipRequested.delete(id);
      }
      order = order.slice(0, order.length - undone.length);
      ready.reset(undone);
      log.push(`rollback ${undone.join(',')}`);
      rollbacks++;
      continue;
    }
    if (inflight.length === 0) continue;
    const [id] = inflight.splice(Math.floor(random() * inflight.length), 1) as [string];
    const how = random();
    if (how < 0.1) {
      status.set(id, 'pending');
      ready.requeued(id);
      log.push(`interrupted ${id}`);
      continue;
    }
    // As a condition does: some of its dependents are an unchosen branch.
    for (const s of steps) if (s.dependsOn.includes(id) && random() < 0.2) skipRequested.add(s.id);
    finish(id, how < 0.25 ? 'failed' : 'completed');
  }
  return log;
}

describe('ready steps index', () => {
  test('acts as the full scan did, in the same order, over 500 random plans with skips, failures, interruptions and rollbacks', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const scanned = simulate(seed, fullScanScheduler);
      expect({ seed, log: simulate(seed, createReadySteps) }).toEqual({ seed, log: scanned });
    }
  });

  test('starts ready steps in definition order, skips in the same pass, and leaves what the skips readied to the next pass', () => {
    // c is defined before a and b; d depends on the skipped b; e waits for room.
    const steps = [tool('c', ['a']), tool('a'), tool('b'), tool('d', ['b']), tool('e')];
    const status = new Map<string, StepStatus>(steps.map((s) => [s.id, 'pending']));
    const ready = createReadySteps(steps, (id) => status.get(id)!);
    const log: string[] = [];
    let running = 0;
    const actions: PassActions = {
      blocked: (s) => s.id === 'b' || s.dependsOn.some((d) => status.get(d) !== 'completed'),
      room: () => 1 - running,
      skip: (s) => {
        status.set(s.id, 'skipped');
        ready.finished(s.id);
        log.push(`skip ${s.id}`);
      },
      start: (s) => {
        status.set(s.id, 'running');
        running++;
        log.push(`start ${s.id}`);
      },
    };
    expect(ready.pass(actions)).toBe(true);
    expect(log).toEqual(['start a', 'skip b']);
    expect(ready.pass(actions)).toBe(true);
    expect(log).toEqual(['start a', 'skip b', 'skip d']);
    expect(ready.pass(actions)).toBe(false);
    status.set('a', 'completed');
    ready.finished('a');
    running = 0;
    ready.pass(actions);
    expect(log.slice(3)).toEqual(['start c']);
    // a rollback puts a and c back: c waits for a again; e still waits for room
    status.set('a', 'pending');
    status.set('c', 'pending');
    ready.reset(['a', 'c']);
    running = 0;
    ready.pass(actions);
    expect(log.slice(4)).toEqual(['start a']);
  });
});
