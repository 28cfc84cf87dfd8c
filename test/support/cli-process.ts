import { spawn } from 'node:child_process';
import path from 'node:path';

/** The `ownpilot` executable as package.json's `bin` names it. */
export const OWNPILOT_BIN = path.join(__dirname, '..', '..', 'bin', 'ownpilot.cjs');

/** Runs `ownpilot ...` as a user would, with `stdin` piped in when given; resolves with its exit code and output. */
export function ownpilot(args: string[], env: Record<string, string>, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [OWNPILOT_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end(stdin); // without input, an empty standard input
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
