import { createEventBus, type EventBus } from '../activities/events/event-bus';
import { compilePattern } from '../activities/events/event-pattern';
import type { OwnPilotEvent } from '../activities/events/event-types';
import { AppError } from '../platform/errors';
import { createLogger } from '../platform/logger';
import { createLogCapture } from './support/log-capture';
import { eventually } from './support/wait';
import { KNOWN_EVENT_PAYLOADS } from '../activities/events/event-payloads';
import { PLAN_RUN_EVENTS, PLAN_STEP_EVENTS } from '../workflows/plan-types';

const logger = createLogger('test', 'silent');
const collect = () => {
  const got: OwnPilotEvent[] = [];
  return { got, handler: (e: OwnPilotEvent) => void got.push(e) };
};

describe('event bus (in process)', () => {
  let bus: EventBus;
  beforeEach(() => {
    bus = createEventBus({ logger });
  });
  afterEach(() => bus.close());

  test('events outside the eight namespaces and bad payloads of known events are rejected', () => {
    expect(() => bus.emit('billing.charged', {}, 'test')).toThrow(/invalid event type/);
    expect(() => bus.emit('tool', {}, 'test')).toThrow(AppError);
    expect(() => bus.emit('tool.registered', { nope: 1 }, 'test')).toThrow(/invalid payload/);
    expect(() => bus.emit('resource.created', { resourceType: 'note' }, 'test')).toThrow(/invalid payload/);
    expect(() => bus.emit('plugin.x.thing', { big: 10n }, 'test')).toThrow(expect.objectContaining({ details: { issues: [expect.objectContaining({ message: 'event data must be JSON-serialisable' })] } }));
    const event = bus.emit('tool.registered', { tool: 'core.echo', extra: true }, 'tools');
    expect(event).toMatchObject({ type: 'tool.registered', category: 'tool', source: 'tools', data: { tool: 'core.echo', extra: true } });
    expect(Date.parse(event.timestamp)).not.toBeNaN();
    expect(bus.metrics().rejected).toBe(5);
  });

  test('every plan_history event the plan workflow records has a payload schema; step events need their stepId', () => {
    for (const type of [...PLAN_RUN_EVENTS, ...PLAN_STEP_EVENTS]) expect(KNOWN_EVENT_PAYLOADS[type]).toBeDefined();
    expect(() => bus.emit('plan.paused', { runId: 'plan-p-1' }, 'test')).toThrow(/invalid payload/);
    expect(() => bus.emit('plan.step_compensated', { planId: 'p', runId: 'plan-p-1' }, 'test')).toThrow(/invalid payload/);
    expect(() => bus.emit('plan.approval_required', { planId: 'p', runId: 'plan-p-1', stepId: null }, 'test')).toThrow(/invalid payload/);
    expect(bus.emit('plan.step_compensated', { planId: 'p', runId: 'plan-p-1', stepId: 'a', status: 'compensated' }, 'test')).toMatchObject({ category: 'plan' });
    expect(bus.emit('plan.paused', { planId: 'p', runId: 'plan-p-1', stepId: null }, 'test')).toMatchObject({ category: 'plan' });
  });

  test('a failing and a timed-out handler are logged with their subscriber id', async () => {
    const capture = createLogCapture();
    const logged = createEventBus({ logger: createLogger('test', 'warn', capture.stream) });
    logged.subscribe('breaks', 'system.*', () => {
      throw new Error('handler broke');
    });
    logged.subscribe('stalls', 'system.*', () => new Promise(() => undefined), { handlerTimeoutMs: 50 });
    const event = logged.emit('system.started', { process: 'x' }, 'test');
    const lines = await eventually(async () => capture.lines(), (l) => l.length >= 2);
    expect(lines).toEqual(expect.arrayContaining([
      expect.objectContaining({ msg: 'event handler failed', subscriberId: 'breaks', eventId: event.id, err: expect.objectContaining({ message: 'handler broke' }) }),
      expect.objectContaining({ msg: 'event handler timed out', subscriberId: 'stalls', eventId: event.id, timeoutMs: 50 }),
    ]));
    await logged.close();
  });

  test('`*` matches one segment and `**` any depth', () => {
    const one = compilePattern('resource.*');
    expect([one('resource.created'), one('resource.note.created'), one('tool.created')]).toEqual([true, false, false]);
    const deep = compilePattern('plugin.**');
    expect([deep('plugin.installed'), deep('plugin.a.b.c'), deep('plan.started')]).toEqual([true, true, false]);
    const mid = compilePattern('plugin.*.done');
    expect([mid('plugin.a.done'), mid('plugin.a.b.done'), mid('plugin.done')]).toEqual([true, false, false]);
    const midDeep = compilePattern('plugin.**.done');
    expect([midDeep('plugin.done'), midDeep('plugin.a.b.done'), midDeep('plugin.a.donex')]).toEqual([true, true, false]);
    expect(compilePattern('**')('system.started')).toBe(true);
    expect(() => compilePattern('resource.*x')).toThrow();
    expect(() => bus.subscribe('s', 'Resource.(.*)', () => undefined)).toThrow(/invalid event pattern/);
  });

  test('subscribe/unsubscribe/list/clear, and delivery by pattern', async () => {
    const a = collect();
    const b = collect();
    const idA = bus.subscribe('svc-a', 'resource.*', a.handler);
    const idA2 = bus.subscribe('svc-a', 'plan.**', a.handler);
    const idB = bus.subscribe('svc-b', '**', b.handler);
    expect(new Set([idA, idA2, idB]).size).toBe(3);
    expect(bus.listSubscriptions('svc-a').map((s) => s.pattern).sort()).toEqual(['plan.**', 'resource.*']);
    expect(bus.listSubscriptions()).toHaveLength(3);

    bus.emit('resource.created', { resourceType: 'note', id: 'n1' }, 'test');
    bus.emit('tool.executed', { tool: 'core.echo' }, 'test');
    expect(a.got).toHaveLength(0); // never delivered synchronously inside emit
    await eventually(async () => b.got.length, (n) => n === 2);
    expect(a.got.map((e) => e.type)).toEqual(['resource.created']);

    expect(bus.unsubscribe(idA)).toBe(true);
    expect(bus.unsubscribe(idA)).toBe(false);
    bus.emit('resource.deleted', { resourceType: 'note', id: 'n1' }, 'test');
    await eventually(async () => b.got.length, (n) => n === 3);
    expect(a.got).toHaveLength(1);

    expect(bus.clearSubscriptions('svc-a')).toBe(1);
    expect(bus.listSubscriptions('svc-a')).toEqual([]);
    expect(bus.listSubscriptions()).toHaveLength(1);
  });

  test('a throwing, a hanging and a slow handler never delay other subscribers or the publisher', async () => {
    const calls = { thrower: 0, hanger: 0, slow: 0 };
    bus.subscribe('thrower', 'system.*', () => {
      calls.thrower++;
      throw new Error('boom');
    });
    bus.subscribe('hanger', 'system.*', () => {
      calls.hanger++;
      return new Promise(() => undefined); // never settles
    }, { handlerTimeoutMs: 100 });
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
    bus.subscribe('slow', 'system.*', async () => {
      calls.slow++;
      await slowGate;
    }, { handlerTimeoutMs: 60_000 });
    const healthy = collect();
    bus.subscribe('healthy', 'system.*', healthy.handler);

    for (let i = 0; i < 20; i++) bus.emit('system.started', { process: `p${i}` }, 'test');
    // healthy gets all 20 while `slow` is still stuck on its first event and `hanger` on its first timeout
    await eventually(async () => healthy.got.length, (n) => n === 20);
    expect(calls.slow).toBe(1);
    expect(bus.metrics().subscribers.slow!.queued).toBe(19);
    await eventually(async () => bus.metrics().subscribers.thrower!.failed, (n) => n === 20);
    releaseSlow();
    await eventually(async () => bus.metrics().subscribers.slow!.delivered, (n) => n === 20);
    await eventually(async () => bus.metrics().subscribers.hanger!.timedOut, (n) => n === 20, 20_000);
    expect(calls).toEqual({ thrower: 20, hanger: 20, slow: 20 });
    expect(healthy.got.map((e) => (e.data as { process: string }).process)).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`));
  });

  test('rate limit `drop`: excess deliveries are dropped and counted, the publisher is never blocked', async () => {
    const limited = collect();
    const free = collect();
    bus.subscribe('limited', 'agent.*', limited.handler, { ratePerSecond: 5, burst: 5, policy: 'drop' });
    bus.subscribe('free', 'agent.*', free.handler);
    for (let i = 0; i < 200; i++) bus.emit('agent.started', { agentId: `a${i}` }, 'test');
    await eventually(async () => free.got.length, (n) => n === 200);
    const m = bus.metrics().subscribers.limited!;
    expect(m.rateDropped + limited.got.length).toBe(200);
    expect(m.rateDropped).toBeGreaterThanOrEqual(190);
    expect(m).toMatchObject({ ratePerSecond: 5, policy: 'drop' });
  });

  test('rate limit `defer`: excess deliveries wait for tokens and all arrive, in order', async () => {
    const limited = collect();
    bus.subscribe('deferred', 'agent.*', limited.handler, { ratePerSecond: 50, burst: 2, policy: 'defer' });
    for (let i = 0; i < 12; i++) bus.emit('agent.completed', { agentId: `a${i}` }, 'test');
    expect(bus.metrics().subscribers.deferred!.deferred).toBeGreaterThanOrEqual(10);
    await eventually(async () => limited.got.length, (n) => n === 12);
    expect(limited.got.map((e) => (e.data as { agentId: string }).agentId)).toEqual(Array.from({ length: 12 }, (_, i) => `a${i}`));
    expect(bus.metrics().subscribers.deferred!.rateDropped).toBe(0);
  });

  test('a bounded queue overflows into a counted drop, and tells a subscriber that asked', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let told = 0;
    bus.subscribe('tiny', 'plan.*', () => gate, { maxQueue: 3, handlerTimeoutMs: 60_000, onOverflow: () => told++ });
    for (let i = 0; i < 10; i++) bus.emit('plan.started', { planId: `p${i}` }, 'test');
    expect(bus.metrics().subscribers.tiny!.overflowed).toBe(7);
    expect(told).toBe(7);
    release();
    await eventually(async () => bus.metrics().subscribers.tiny!.delivered, (n) => n === 3);
  });

  test('emitAsync resolves after local handlers settle; the same id is delivered once', async () => {
    const seen: string[] = [];
    bus.subscribe('x', 'trigger.*', async (e) => {
      await new Promise((r) => setImmediate(r));
      seen.push(e.id);
    });
    const first = await bus.emitAsync('trigger.fired', { triggerId: 't1' }, 'test', { id: 'fixed-id' });
    expect(seen).toEqual(['fixed-id']);
    await bus.emitAsync('trigger.fired', { triggerId: 't1' }, 'test', { id: 'fixed-id' });
    expect(seen).toEqual(['fixed-id']);
    expect(first.id).toBe('fixed-id');
    expect(bus.metrics().duplicatesIgnored).toBe(1);
    // `until: 'committed'` does not wait for a slow handler
    let release: (() => void) | undefined;
    bus.subscribe('stuck', 'trigger.*', () => new Promise<void>((resolve) => (release = resolve)), { handlerTimeoutMs: 60_000 });
    await bus.emitAsync('trigger.fired', { triggerId: 't2' }, 'test', { until: 'committed' });
    expect(bus.metrics().subscribers.stuck!.delivered).toBe(0);
    await eventually(async () => release !== undefined, (called) => called);
    release!();
    await eventually(async () => bus.metrics().subscribers.stuck!.delivered, (n) => n === 1);
  });

  test('a plugin may emit only plugin.<id>.* and only with the emit grant, and subscribe only to declared patterns', async () => {
    expect(() => bus.forPlugin('digest', ['resource.*']).emit('plugin.digest.ready', {})).toThrow(expect.objectContaining({ code: 'FORBIDDEN' })); // no events.emit grant
    const digest = bus.forPlugin('digest', ['resource.*'], { emit: true });
    expect(() => digest.emit('plugin.other.hello', {})).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(() => digest.emit('plugin.installed', { pluginId: 'digest' })).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(() => digest.emit('system.started', { process: 'x' })).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(() => digest.subscribe('plan.*', () => undefined)).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(() => digest.subscribe('**', () => undefined)).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    const got = collect();
    digest.subscribe('resource.*', got.handler);
    expect(digest.emit('plugin.digest.ready', { n: 1 })).toMatchObject({ source: 'plugin:digest', category: 'plugin' });
    bus.emit('resource.updated', { resourceType: 'note', id: 'n' }, 'test');
    await eventually(async () => got.got.length, (n) => n === 1);
    expect(bus.listSubscriptions('plugin:digest')).toHaveLength(1);
  });
});
