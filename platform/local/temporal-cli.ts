import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The newest CLI tag that `go install pkg@version` accepts (later tags carry `replace` directives). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

/** Raised when no Temporal CLI is available and none can be built; the message is one line. */
export class TemporalCliUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalCliUnavailableError';
  }
}

/** Where the built CLI is cached: outside the repository, so fresh clones on this machine reuse it. */
export function cliCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'ownpilot', `temporal-cli-${TEMPORAL_CLI_VERSION}`);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Returns the path of a usable `temporal` binary: `explicitPath` when given (it must exist), else
 * the cached build, else builds it once with `go install`. Throws TemporalCliUnavailableError.
 */
export function ensureTemporalCli(
  explicitPath: string | undefined,
  log: (line: string) => void = () => {},
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (explicitPath !== undefined) {
    if (!isExecutable(explicitPath)) {
      throw new TemporalCliUnavailableError(`TEMPORAL_CLI_PATH=${explicitPath} is not an executable file`);
    }
    return explicitPath;
  }
  const dir = cliCacheDir(env);
  const binary = path.join(dir, 'temporal');
  if (isExecutable(binary)) return binary;

  if (spawnSync('go', ['version'], { stdio: 'ignore', env }).status !== 0) {
    throw new TemporalCliUnavailableError(
      'Go is not installed: it is needed once to build the Temporal CLI (or set TEMPORAL_CLI_PATH to an existing temporal binary)',
    );
  }
  log(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} into ${dir} (once; takes a few minutes)`);
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
      env: { ...env, GOBIN: dir },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } catch {
    throw new TemporalCliUnavailableError(`go install of the Temporal CLI ${TEMPORAL_CLI_VERSION} failed (see the output above)`);
  }
  if (!isExecutable(binary)) throw new TemporalCliUnavailableError(`go install did not produce ${binary}`);
  return binary;
}
