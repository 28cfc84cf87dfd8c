import { createDatabaseAcl } from '../activities/acl/acl-service';
import { analyzeQuery, loadSqlParser } from '../activities/acl/query-analyzer';
import type { EventPublisher } from '../activities/events/event-types';
import { createPrisma } from '../platform/database';
import { createSqlPool } from '../platform/sql-pool';
import { startBenchPostgres } from './bench-postgres';
import type { Benchmark, BenchFigure } from './bench-types';

const TYPICAL = `SELECT n.id, n.title, count(*) OVER () AS total
  FROM plugin_bench_notes n
  WHERE n.title ILIKE $1 AND n.created_at > now() - interval '7 days'
  ORDER BY n.created_at DESC LIMIT 50`;

/** Mean µs per call of `fn` over `iterations` calls, after a warm-up. */
async function microsPerOp(iterations: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(1000, iterations); i += 1) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) await fn();
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

/** Database ACL: warm-cache access checks, statement analysis and full validation (parse + checks). */
export const aclBench: Benchmark = {
  name: 'acl',
  async run(): Promise<BenchFigure[]> {
    const postgres = await startBenchPostgres();
    const prisma = createPrisma(postgres.databaseUrl, 4);
    const pool = createSqlPool(postgres.databaseUrl, 2);
    const events: EventPublisher = { emit: () => undefined };
    try {
      const acl = createDatabaseAcl({ prisma, pool, events });
      await loadSqlParser();
      await acl.createPluginTable('bench', {
        name: 'notes',
        columns: [{ name: 'id', type: 'serial', primaryKey: true }, { name: 'title', type: 'text' }, { name: 'created_at', type: 'timestamp' }],
      });
      const owner = 'plugin:bench';
      const canRead = await microsPerOp(200_000, () => acl.canRead('plugin_bench_notes', owner));
      const canWriteLocked = await microsPerOp(200_000, () => acl.canWrite('plans', 'admin'));
      const analyze = await microsPerOp(20_000, () => analyzeQuery(TYPICAL));
      const validate = await microsPerOp(20_000, () => acl.validateQuery(TYPICAL, owner));
      const execute = await microsPerOp(500, () => acl.executeQuery(TYPICAL, ['%a%'], owner));
      return [
        { name: 'canRead, warm cache (own plugin table)', value: canRead, unit: 'µs/op', target: 20 },
        { name: 'canWrite, warm cache (locked table, denied)', value: canWriteLocked, unit: 'µs/op', target: 20 },
        { name: 'analyzeQuery, typical SELECT (parse + AST walk)', value: analyze, unit: 'µs/op' },
        { name: 'validateQuery, typical SELECT (parse + walk + checks)', value: validate, unit: 'µs/op' },
        { name: 'executeQuery, typical SELECT (validate + transaction)', value: execute, unit: 'µs/op' },
      ];
    } finally {
      await pool.end();
      await prisma.$disconnect();
      await postgres.stop();
    }
  },
};
