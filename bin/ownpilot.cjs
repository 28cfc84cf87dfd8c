#!/usr/bin/env node
// `npx ownpilot`: loads the TypeScript CLI through tsx (no build step).
require('tsx/cjs');
const { runCli } = require('../cli/main.ts');

// A reader that stopped reading (`ownpilot tools list | head`) is not an error: end quietly
// instead of crashing with an unhandled EPIPE stack trace.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

runCli(process.argv.slice(2), process.env, (text) => process.stdout.write(text), Boolean(process.stdout.isTTY)).then((code) => {
  process.exitCode = code;
});
