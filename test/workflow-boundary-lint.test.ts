import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.join(__dirname, '..');

/** Lints `source` as if it were a file under workflows/ (boundary rules need no type information). */
function lintAsWorkflow(source: string): { ruleId: string; line: number }[] {
  const result = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/eslint/bin/eslint.js'), '--stdin', '--stdin-filename', 'workflows/boundary-fixture.ts',
      '--parser-options=projectService:false', '--rule', '@typescript-eslint/no-floating-promises: off', '--format', 'json'],
    { cwd: root, input: source, encoding: 'utf8' },
  );
  const [report] = JSON.parse(result.stdout) as [{ messages: { ruleId: string; line: number }[] }];
  return report.messages.map(({ ruleId, line }) => ({ ruleId, line }));
}

describe('the linter enforces the workflow sandbox boundary', () => {
  test('Node built-ins, Prisma, pg, express, value imports of activities, Date.now and Math.random are errors', () => {
    const problems = lintAsWorkflow(
      [
        "import fs from 'node:fs';",
        "import { PrismaClient } from '../prisma/generated/client';",
        "import pg from 'pg';",
        "import express from 'express';",
        "import { createPlanActivities } from '../activities/plans/plan-activities';",
        'export const values = [fs, PrismaClient, pg, express, createPlanActivities, Date.now(), Math.random()];',
      ].join('\n'),
    );
    expect(problems).toEqual([
      { ruleId: 'no-restricted-imports', line: 1 },
      { ruleId: 'no-restricted-imports', line: 2 },
      { ruleId: 'no-restricted-imports', line: 3 },
      { ruleId: 'no-restricted-imports', line: 4 },
      { ruleId: 'no-restricted-imports', line: 5 },
      { ruleId: 'no-restricted-syntax', line: 6 },
      { ruleId: 'no-restricted-syntax', line: 6 },
    ]);
  });

  test('type-only imports of activities and the workflow API are allowed', () => {
    const problems = lintAsWorkflow(
      [
        "import { proxyActivities } from '@temporalio/workflow';",
        "import type { PlanActivities } from '../activities/plans/plan-activities';",
        "export const acts = proxyActivities<PlanActivities>({ startToCloseTimeout: '1 minute' });",
      ].join('\n'),
    );
    expect(problems).toEqual([]);
  });
});
