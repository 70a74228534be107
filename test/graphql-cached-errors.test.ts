import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let bp: TestDaemon;
beforeAll(async () => {
  bp = await startTestDaemon();
});
afterAll(() => bp.stop());

/** V8's used heap after full collections (the daemon runs in this process). */
async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return v8.getHeapStatistics().used_heap_size;
}

// yoga caches parse and validation errors as long as their document is cached (up to 1,000);
// an error whose stack V8 has not formatted keeps the request it was made for: its variables.
test.each([
  ['invalid', (i: number) => `{ nope${i} }`],
  ['unparsable', (i: number) => `{ daemon${i} {`],
])('%s documents do not keep their requests’ variables in memory', async (_kind, documentOf) => {
  const blob = 'x'.repeat(512 * 1024);
  const send = async (i: number) => {
    const response = await fetch(`${bp.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: documentOf(i), variables: { blob: `${i}${blob}` } }),
    });
    expect(((await response.json()) as { errors?: unknown[] }).errors).toHaveLength(1);
  };
  await send(-1);
  const before = await heapAfterGc();
  for (let i = 0; i < 100; i++) await send(i);
  const grown = (await heapAfterGc()) - before;
  // Kept, the 100 requests would hold 50 MiB of variables; their 100 cached errors hold ~1 MiB.
  expect(grown).toBeLessThan(16 * 1024 * 1024);
});
