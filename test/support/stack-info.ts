/** Environment variable through which global setup hands the running stack to test files. */
export const STACK_ENV = 'OWNPILOT_TEST_STACK';

export interface TestStackInfo {
  databaseUrl: string;
  temporalAddress: string;
  cliPath: string;
  dir: string;
}

/** The stack started by global setup; throws when a test runs outside `npm test`. */
export function stackInfo(): TestStackInfo {
  const raw = process.env[STACK_ENV];
  if (!raw) throw new Error(`${STACK_ENV} is not set: run tests with npm test`);
  return JSON.parse(raw) as TestStackInfo;
}
