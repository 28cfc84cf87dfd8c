/** Stops the stack global-setup started. */
export default async function globalTeardown(): Promise<void> {
  const stop = (globalThis as Record<string, unknown>).__ownpilotStop as (() => Promise<void>) | undefined;
  await stop?.();
}
