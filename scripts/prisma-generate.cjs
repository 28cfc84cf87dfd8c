// Generates the Prisma client offline. The Prisma CLI insists on a schema-engine binary even
// for `generate` (which never runs it); any existing file satisfies the check.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const cli = path.join(__dirname, '..', 'node_modules', 'prisma', 'build', 'index.js');
execFileSync(process.execPath, [cli, 'generate', '--schema', 'prisma/schema.prisma'], {
  cwd: path.join(__dirname, '..'),
  env,
  stdio: 'inherit',
});
