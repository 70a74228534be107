/**
 * Polls `probe` until it returns something other than undefined (or throws after `timeoutMs`).
 * For waiting on outcomes, never for asserting durations.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, { timeoutMs = 20_000, intervalMs = 50 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
}
