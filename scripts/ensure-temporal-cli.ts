import { loadConfig } from '../platform/config';
import { ensureTemporalCli } from '../platform/local/temporal-cli';

/** `npm run temporal:cli`: builds the Temporal CLI into the cache if needed and prints its path. */
try {
  console.log(ensureTemporalCli(loadConfig().TEMPORAL_CLI_PATH, (line) => console.error(line)));
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
