// Lint rules from shared/STYLE.md: type-aware checks everywhere, and the workflow sandbox
// boundary (no Node built-ins, Prisma, Express or pg under workflows/).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['bin/**', 'node_modules/**', 'dist/**', '.data/**', 'prisma/generated/**', 'coverage/**', '**/*.cjs', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'workflows run in the deterministic sandbox: no Node built-ins' })),
          patterns: [
            { group: ['@prisma/*', 'prisma', '**/prisma/generated/**'], message: 'workflows do no I/O: use an activity' },
            { group: ['express', 'express/*', 'pg', 'pg/*', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'], message: 'not allowed in the workflow sandbox' },
            { group: ['../activities/*', '../activities/**', '../platform/**', '../api/**'], allowTypeImports: true, message: 'import activities and services as types only' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'use sleep() from @temporalio/workflow' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'Date.now() is replaced by the workflow clock; prefer workflowInfo() or sleep()' },
        { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: 'use uuid4() or a deterministic value' },
      ],
    },
  },
);
