import { createPrisma } from '../platform/database';
import { publicErrorText } from '../platform/error-text';
import { newId } from '../platform/ids';
import { stackInfo } from './support/stack-info';

// A real Prisma error names the calling source file; what reaches API callers must not.
describe('publicErrorText', () => {
  test('a Prisma constraint error keeps its reason and loses the invocation report and source paths', async () => {
    const prisma = createPrisma(stackInfo().databaseUrl, 1);
    try {
      const id = `dup_${newId().replace(/-/g, '_')}`.slice(0, 40);
      const row = { id, manifest: {}, status: 'error', workflowId: 'w', installedAt: new Date(), updatedAt: new Date() };
      await prisma.plugin.create({ data: row });
      const error = await prisma.plugin.create({ data: row }).then(() => undefined, (e: Error) => e);
      expect(error?.message).toMatch(/error-text\.test\.ts/);
      const text = publicErrorText(error!.message);
      expect(text).toMatch(/Unique constraint failed/);
      expect(text).not.toMatch(/\.ts|invocation|\n/);
      await prisma.plugin.delete({ where: { id } });
    } finally {
      await prisma.$disconnect();
    }
  });

  test('plain messages pass as one line; stray paths are replaced', () => {
    expect(publicErrorText('tables: table name taken')).toBe('tables: table name taken');
    expect(publicErrorText('failed at /srv/app/activities/x.ts:12:3\nnext')).toBe('failed at <source> next');
  });
});
