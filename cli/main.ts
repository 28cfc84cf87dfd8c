import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ApiError, createApiClient } from './api-client';
import { UsageError, type Command } from './commands/command-types';
import { adminCommands } from './commands/admin-commands';
import { customToolCommands } from './commands/custom-tool-commands';
import { databaseCommands } from './commands/database-commands';
import { eventCommands } from './commands/event-commands';
import { planCommands } from './commands/plan-commands';
import { pluginCommands } from './commands/plugin-commands';
import { storageCommands } from './commands/storage-commands';
import { triggerCommands } from './commands/trigger-commands';

const USAGE = `usage: ownpilot <command> [args] [--json]

  plans list | get <id> | create <file.json> | update <id> <patch.json> | delete <id>
  plans execute <id> [--input JSON] [--follow] | history <id>
  runs list <planId> | get <runId> | follow <runId>
  runs pause|resume|cancel <runId> | checkpoint <runId> [--name NAME] | rollback <runId> [--checkpoint ID]
  runs approvals [--all]       (approval steps waiting for your decision; --all, admin: every one) | approve|reject <runId> <stepId> [--comment TEXT]
  triggers list | get <id> | create <file.json> | update <id> <patch.json> | delete <id> | rotate-secret <id>
  triggers enable|disable <id> | fire <id> [--payload JSON] | history <id>
  triggers backfill <id> --start 2d|ISO --end 1d|ISO [--overlap POLICY]   (a schedule over a past window)
  plugins list | get <id> | install <manifest.json> | uninstall [--force]|enable|disable <id>
  plugins upgrade <id> <manifest.json> [--config <config.json|->] [--force] [--drop-removed-tables]
  plugins config <id> | set-config <id> <config.json>
  storage list <pluginId> [--prefix P] [--limit N] [--offset N] | get|delete <pluginId> <key>
  storage set <pluginId> <key> <JSON> | clear <pluginId>   (a plugin's key-value storage)
  events tail [--type PATTERN] [--since 10m|ISO]   (live, from the API's event stream)
  events history [--type PATTERN] [--category C] [--source S] [--from 1h|ISO] [--to ISO]
                 [--order desc|asc] [--limit N] [--cursor C | --offset N]   (event_log, newest first)
  tools list [--search TEXT] | get <name> | run <name> [--args JSON]
  custom-tools list | get <id> | create <file.json> | update <id> <patch.json> | delete|enable|disable <id>
  db query <sql> [--params JSON]   (one statement through the ACL as you)
  db tables | table <name> | create-table <spec.json> | drop-table <name>
  db grant|revoke <table> <principal> read|write|delete | audit [--requester P] [--outcome allowed|denied] [--limit N]
  keys list | create <name> --principal admin|user:<id>|plugin:<id> | revoke <keyId>
  status                       (PostgreSQL, Temporal, workers polling; exit 1 unless all are up)

The API is OWNPILOT_URL (default http://127.0.0.1:3000) with the key in OWNPILOT_API_KEY, or
both in the file OWNPILOT_CONFIG (default ~/.config/ownpilot/config.json: {"url", "apiKey"}).
Web UI links use OWNPILOT_WEB_UI_URL and TEMPORAL_NAMESPACE (or "webUiUrl", "namespace" there).`;

const ConfigFile = z.object({ url: z.string().url().optional(), apiKey: z.string().optional(), webUiUrl: z.string().url().optional(), namespace: z.string().min(1).optional() }).strict();

function loadCliConfig(env: NodeJS.ProcessEnv) {
  const file = env.OWNPILOT_CONFIG ?? path.join(os.homedir(), '.config', 'ownpilot', 'config.json');
  const fromFile = fs.existsSync(file) ? ConfigFile.parse(JSON.parse(fs.readFileSync(file, 'utf8'))) : {};
  return {
    url: env.OWNPILOT_URL ?? fromFile.url ?? 'http://127.0.0.1:3000',
    apiKey: env.OWNPILOT_API_KEY ?? fromFile.apiKey,
    webUiUrl: env.OWNPILOT_WEB_UI_URL ?? fromFile.webUiUrl ?? 'http://127.0.0.1:8233',
    // The server's TEMPORAL_NAMESPACE, which Web UI links name.
    namespace: env.TEMPORAL_NAMESPACE ?? fromFile.namespace ?? 'default',
  };
}

/** A JSON file argument (`-` is standard input), with an error that names the file. */
function readJson(file: string): unknown {
  const name = file === '-' ? 'standard input' : file;
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${name}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${name} is not JSON: ${(error as Error).message}`);
  }
}

/** The command line as parseArgs reads it; an unknown or malformed option is a UsageError. */
function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        follow: { type: 'boolean' },
        since: { type: 'string' },
        input: { type: 'string' },
        payload: { type: 'string' },
        checkpoint: { type: 'string' },
        name: { type: 'string' },
        comment: { type: 'string' },
        search: { type: 'string' },
        args: { type: 'string' },
        principal: { type: 'string' },
        force: { type: 'boolean' },
        'drop-removed-tables': { type: 'boolean' },
        config: { type: 'string' },
        all: { type: 'boolean' },
        type: { type: 'string' },
        category: { type: 'string' },
        source: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        order: { type: 'string' },
        limit: { type: 'string' },
        offset: { type: 'string' },
        cursor: { type: 'string' },
        start: { type: 'string' },
        end: { type: 'string' },
        overlap: { type: 'string' },
        prefix: { type: 'string' },
        params: { type: 'string' },
        requester: { type: 'string' },
        outcome: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('.')[0]!);
  }
}

/** Runs one CLI invocation; resolves with the exit code (never throws). */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv, write: (text: string) => void, isTty: boolean): Promise<number> {
  try {
    const { values, positionals } = parseCommandLine(argv);
    const [group, action, ...args] = positionals;
    if (values.help || !group) {
      write(`${USAGE}\n`);
      return values.help ? 0 : 2;
    }
    const commands: Record<string, Command> = {
      ...planCommands(isTty),
      ...triggerCommands(),
      ...pluginCommands(),
      ...storageCommands(),
      ...eventCommands(),
      ...adminCommands(),
      ...customToolCommands(),
      ...databaseCommands(),
    };
    const command = commands[`${group} ${action ?? ''}`];
    if (!command) throw new UsageError(`unknown command '${[group, action].filter(Boolean).join(' ')}'`);
    const config = loadCliConfig(env);
    const code = await command({
      api: createApiClient({ baseUrl: config.url, apiKey: config.apiKey }),
      out: { json: values.json === true, write },
      args,
      flags: values,
      workflowUrl: (id) => `${config.webUiUrl}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(id)}`,
      readJson,
      sleep: (ms) => sleep(ms),
    });
    return code ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`ownpilot: ${error.message}\n${error.showUsage ? `${USAGE}\n` : ''}`);
      return 2;
    }
    const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`ownpilot: ${message.split('\n')[0]}\n`);
    return 1;
  }
}
