import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { eventually } from './wait';

export interface AppProcess {
  child: ChildProcess;
  /** Everything the process wrote (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Runs `entry` (api/main.ts or workers/main.ts) as a real child process; resolves once `readyMessage` is logged. */
export async function startAppProcess(entry: string, env: Record<string, string>, readyMessage: string): Promise<AppProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', '..', entry)], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  await eventually(async () => text, (t) => t.includes(`"msg":"${readyMessage}"`) || exitCode !== undefined, 90_000);
  if (exitCode !== undefined) throw new Error(`${entry} exited ${exitCode}:\n${text}`);
  return { child, output: () => text, exited };
}
