#!/usr/bin/env node
// `npx ownpilot`: loads the TypeScript CLI through tsx (no build step).
require('tsx/cjs');
const { runCli } = require('../cli/main.ts');

runCli(process.argv.slice(2), process.env, (text) => process.stdout.write(text), Boolean(process.stdout.isTTY)).then((code) => {
  process.exitCode = code;
});
