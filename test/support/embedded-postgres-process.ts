// Runs the embedded PostgreSQL launcher in its own process (jest's sandbox cannot load the
// ESM-only package): prints the database URL as one JSON line, stops the cluster on SIGTERM.
import { startEmbeddedPostgres } from '../../platform/local/embedded-postgres';

async function main(): Promise<void> {
  const [dataDir, port] = process.argv.slice(2);
  const server = await startEmbeddedPostgres(dataDir!, Number(port));
  console.log(JSON.stringify({ databaseUrl: server.databaseUrl }));
  process.once('SIGTERM', () => void server.stop().then(() => process.exit(0)));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
