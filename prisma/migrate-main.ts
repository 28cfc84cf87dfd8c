import { loadConfig } from '../platform/config';
import { migrate } from './migrate';

/** `npm run migrate`: applies pending migrations to DATABASE_URL. */
async function main(): Promise<void> {
  const { DATABASE_URL } = loadConfig();
  if (!DATABASE_URL) throw new Error('DATABASE_URL is not set (npm start migrates the embedded database itself)');
  const result = await migrate(DATABASE_URL);
  console.log(`applied: ${result.applied.join(', ') || 'none'}; already applied: ${result.skipped.length}`);
}

main().catch((error: unknown) => {
  console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
