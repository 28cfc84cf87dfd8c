import { spawn } from 'node:child_process';
import path from 'node:path';

export interface PostgresProcess {
  databaseUrl: string;
  /** Stops the cluster (SIGTERM to the launcher) and resolves once the launcher has exited. */
  stop(): Promise<void>;
}

/** Starts the embedded PostgreSQL launcher in a child process; resolves with its URL once it accepts connections. */
export function startPostgresProcess(dataDir: string, port: number): Promise<PostgresProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'embedded-postgres-process.ts'), dataDir, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`postgres process exited (${code}): ${stderr}`)));
    child.stdout.once('data', (chunk: Buffer) => {
      const { databaseUrl } = JSON.parse(chunk.toString()) as { databaseUrl: string };
      resolve({ databaseUrl, stop: () => new Promise<void>((done) => { child.once('exit', () => done()); child.kill('SIGTERM'); }) });
    });
  });
}
