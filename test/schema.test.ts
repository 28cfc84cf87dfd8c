import { createPrisma } from '../platform/database';
import { stackInfo } from './support/stack-info';

// Writes one row through every Prisma model and reads it back: proves schema.prisma and the
// SQL migrations describe the same tables and columns.
describe('schema.prisma agrees with the migrated database', () => {
  const prisma = createPrisma(stackInfo().databaseUrl, 2);
  afterAll(() => prisma.$disconnect());
  const now = new Date('2026-01-02T03:04:05.678Z');
  const suffix = `${Date.now()}`;

  test('every model round-trips', async () => {
    const tool = await prisma.toolRegistry.create({
      data: { id: `t${suffix}`, name: `custom.t${suffix}`, source: 'custom', sourceId: 'u1', category: 'misc', definition: { a: 1 }, isLocked: true, requiresApproval: true, code: 'return 1', allowedTools: ['core.echo'] },
    });
    expect(await prisma.toolRegistry.findUniqueOrThrow({ where: { name: tool.name } })).toEqual(tool);
    // Its definition is not a real tool's: registry searches in later test files must not see it.
    await prisma.toolRegistry.delete({ where: { id: tool.id } });

    const custom = await prisma.customTool.create({ data: { id: `c${suffix}`, userId: 'u1', name: 'n', description: 'd', code: 'x', parameters: { type: 'object' }, category: 'c', tags: ['t'], allowedTools: ['core.math'] } });
    expect(await prisma.customTool.findUniqueOrThrow({ where: { userId_name: { userId: 'u1', name: 'n' } } })).toEqual(custom);

    const meta = await prisma.tableMetadata.create({ data: { tableName: `plugin_p_${suffix}`, accessLevel: 'protected', ownerId: 'p', schemaDefinition: [{ name: 'x' }] } });
    expect(await prisma.tableMetadata.findUniqueOrThrow({ where: { tableName: meta.tableName } })).toEqual(meta);

    const event = await prisma.eventLog.create({ data: { id: `e${suffix}`, eventType: 'system.ready', category: 'system', source: 'test', data: { ok: true }, timestamp: now, cause: { requesterId: 'user:u', idempotencyKey: 'k' }, audience: ['user:u', 'user:v'] } });
    expect(await prisma.eventLog.findUniqueOrThrow({ where: { id: event.id } })).toEqual(event);

    const plugin = await prisma.plugin.create({
      data: { id: `p${suffix}`, manifest: { id: 'p' }, status: 'installing', installedAt: now, updatedAt: now, errorMessage: null, workflowId: `plugin-install-p${suffix}`, subscriptions: { create: { id: `s${suffix}`, eventPattern: 'resource.*', toolName: 'plugin.p.x' } } },
      include: { subscriptions: true },
    });
    expect(await prisma.plugin.findUniqueOrThrow({ where: { id: plugin.id }, include: { subscriptions: true } })).toEqual(plugin);
    const delivery = await prisma.pluginEventDelivery.create({ data: { subscriptionId: `s${suffix}`, eventId: `e${suffix}`, status: 'failed', error: 'boom' } });
    expect(await prisma.pluginEventDelivery.findUniqueOrThrow({ where: { subscriptionId_eventId: { subscriptionId: `s${suffix}`, eventId: `e${suffix}` } } })).toEqual(delivery);
    const stored = await prisma.pluginStorage.create({ data: { pluginId: plugin.id, key: 'k', value: { v: [1, 2] } } });
    expect(await prisma.pluginStorage.findUniqueOrThrow({ where: { pluginId_key: { pluginId: plugin.id, key: 'k' } } })).toEqual(stored);

    const trigger = await prisma.trigger.create({
      data: { id: `tr${suffix}`, name: 'daily', type: 'schedule', config: { cron: '0 9 * * *' }, action: { kind: 'plan' }, createdBy: 'admin', history: { create: { id: `h${suffix}`, firedAt: now, triggerType: 'schedule', payloadDigest: 'abc', status: 'succeeded', durationMs: 12, workflowId: 'trigger-x-1', planWorkflowId: 'plan-x-1', causationChain: ['tr-a', 'tr-b'] } } },
      include: { history: true },
    });
    expect(await prisma.trigger.findUniqueOrThrow({ where: { id: trigger.id }, include: { history: true } })).toEqual(trigger);
    const secret = await prisma.triggerWebhookSecret.create({ data: { triggerId: trigger.id, secretCiphertext: 'v1.a.b.c', rotatedAt: now } });
    expect(await prisma.triggerWebhookSecret.findUniqueOrThrow({ where: { triggerId: trigger.id } })).toEqual(secret);
    const webhookDelivery = await prisma.triggerWebhookDelivery.create({ data: { triggerId: trigger.id, signatureDigest: 'f'.repeat(64), deliveryId: 'd1', receivedAt: now } });
    expect(await prisma.triggerWebhookDelivery.findUniqueOrThrow({ where: { triggerId_signatureDigest: { triggerId: trigger.id, signatureDigest: 'f'.repeat(64) } } })).toEqual(webhookDelivery);
    const condition = await prisma.triggerConditionState.create({ data: { triggerId: trigger.id, lastValue: true, lastCheckedAt: now, lastFiredAt: now, lastFiredCheck: 'c1', lastError: 'e' } });
    expect(await prisma.triggerConditionState.findUniqueOrThrow({ where: { triggerId: trigger.id } })).toEqual(condition);

    const plan = await prisma.plan.create({
      data: {
        id: `pl${suffix}`, name: 'p', description: 'd', goal: 'g', definition: { steps: [] }, maxConcurrentRuns: 2,
        versions: { create: { version: 1, definition: { steps: [] } } },
        steps: { create: { stepId: 's1', position: 0, name: 'first', kind: 'tool', config: { tool: 'core.echo' }, dependsOn: ['s0'] } },
        runs: {
          create: {
            id: `plan-pl${suffix}-1`, runNumber: 1, version: 1, status: 'completed', input: { a: 1 }, output: { b: 2 }, startKey: `k${suffix}`, finishedAt: now, state: { status: 'completed' }, parentRunId: 'plan-x-1', via: 'trigger:t1',
            history: { create: { id: `ph${suffix}`, planId: `pl${suffix}`, stepId: 's1', event: 'plan.step_completed', status: 'completed', details: { x: 1 }, sequence: 7 } },
            checkpoints: { create: { id: `cp${suffix}`, name: 'after-s1', position: 1, outputs: { s1: 'ok' } } },
          },
        },
      },
      include: { versions: true, steps: true, runs: { include: { history: true, checkpoints: true } } },
    });
    expect(await prisma.plan.findUniqueOrThrow({ where: { id: plan.id }, include: { versions: true, steps: true, runs: { include: { history: true, checkpoints: true } } } })).toEqual(plan);

    const owner = { ownerId: 'user:u1' };
    const resources = [
      [prisma.task, { ...owner, idempotencyKey: `k1${suffix}`, title: 't', description: 'd', status: 'done', priority: 2, dueAt: now, tags: ['a'] }],
      [prisma.note, { ...owner, idempotencyKey: `k2${suffix}`, title: 't', content: 'c', tags: ['a'] }],
      [prisma.bookmark, { ...owner, idempotencyKey: `k3${suffix}`, url: 'https://example.com', title: 't', description: 'd', tags: [] }],
      [prisma.contact, { ...owner, idempotencyKey: `k4${suffix}`, name: 'n', email: 'a@b.c', phone: '1', company: 'c', notes: 'n' }],
      [prisma.calendarEvent, { ...owner, idempotencyKey: `k5${suffix}`, title: 't', description: 'd', location: 'l', startsAt: now, endsAt: now }],
      [prisma.memory, { ...owner, idempotencyKey: `k6${suffix}`, content: 'c', kind: 'k', importance: 3, tags: ['x'] }],
      [prisma.goal, { ...owner, idempotencyKey: `k7${suffix}`, title: 't', description: 'd', status: 'achieved', progress: 100, targetDate: now }],
    ] as const;
    for (const [delegate, data] of resources) {
      const d = delegate as unknown as { create(a: unknown): Promise<{ id: string }>; findUniqueOrThrow(a: unknown): Promise<unknown> };
      const row = await d.create({ data: { id: `r${suffix}`, ...data } });
      expect(await d.findUniqueOrThrow({ where: { id: row.id } })).toEqual(row);
    }
    const grant = await prisma.tableGrant.create({ data: { tableName: meta.tableName, grantee: 'plugin:q', privilege: 'read', grantedBy: 'plugin:p' } });
    expect(await prisma.tableGrant.findUniqueOrThrow({ where: { tableName_grantee_privilege: { tableName: meta.tableName, grantee: 'plugin:q', privilege: 'read' } } })).toEqual(grant);
    const audit = await prisma.aclAudit.create({ data: { id: `a${suffix}`, requesterId: 'plugin:q', action: 'query', outcome: 'denied', tableNames: [meta.tableName, 'plans'], statement: 'SELECT 1', reason: 'no' } });
    expect(await prisma.aclAudit.findUniqueOrThrow({ where: { id: audit.id } })).toEqual(audit);

    const key = await prisma.apiKey.create({ data: { id: `k${suffix}`, name: 'ci', principal: 'admin', keyHash: `hash${suffix}`, prefix: 'op_abc', lastUsedAt: now } });
    expect(await prisma.apiKey.findUniqueOrThrow({ where: { keyHash: key.keyHash } })).toEqual(key);
  });

  test('table_metadata holds the seed’s system tables as locked', async () => {
    const seedTables = ['conversations', 'messages', 'agents', 'tasks', 'notes', 'bookmarks', 'contacts', 'calendar_events', 'memories', 'goals', 'triggers', 'plans', 'plugins', 'custom_tools', 'channels', 'costs', 'settings'];
    const rows = await prisma.tableMetadata.findMany({ where: { tableName: { in: seedTables } } });
    expect(rows.map((r) => r.tableName).sort()).toEqual([...seedTables].sort());
    expect(rows.every((r) => r.accessLevel === 'locked' && r.isSystem)).toBe(true);
  });

  test('event_log has the three seed indexes', async () => {
    const rows = await prisma.$queryRaw<{ indexname: string }[]>`SELECT indexname FROM pg_indexes WHERE tablename = 'event_log'`;
    expect(rows.map((r) => r.indexname)).toEqual(expect.arrayContaining(['idx_event_log_type', 'idx_event_log_category', 'idx_event_log_timestamp']));
  });

  test('retention finds old plugin delivery claims by index, not by a scan of the table', async () => {
    // An empty table is scanned whatever its indexes: the planner is told to avoid that, in one transaction.
    const plan = await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SET LOCAL enable_seqscan = off`;
      return tx.$queryRaw<{ 'QUERY PLAN': string }[]>`EXPLAIN SELECT subscription_id, event_id FROM plugin_event_deliveries WHERE created_at < now() LIMIT 5000`;
    });
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('idx_plugin_event_deliveries_created_at');
  });
});
