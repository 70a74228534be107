import { execa } from 'execa';
import { expect, test } from 'vitest';

/** In a fresh Node process: the young generation's size after allocating, held, then released. */
const probe = `
import v8 from 'node:v8';
import { holdYoungGeneration, releaseYoungGeneration } from './core/util/startup-heap.ts';
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const keep = [];
const churn = (n) => { for (let i = 0; i < n; i++) { const o = { i, s: 'x' + i, a: [i] }; if (i % 4 === 0) keep.push(o); } };
// A first scavenge sets the semi-spaces up at their starting size.
churn(10_000);
const initial = newSpace();
holdYoungGeneration();
churn(400_000);
const held = newSpace();
releaseYoungGeneration();
churn(400_000);
console.log(JSON.stringify({ initial, held, released: newSpace() }));
`;

async function sizes(nodeArgs: string[] = []): Promise<{ initial: number; held: number; released: number }> {
  const { stdout } = await execa(process.execPath, [...nodeArgs, '--input-type=module', '-e', probe], { cwd: process.cwd() });
  return JSON.parse(stdout);
}

test('held, the young generation keeps its initial size; released, it grows again', async () => {
  const { initial, held, released } = await sizes();
  expect(held).toBe(initial);
  expect(released).toBeGreaterThan(initial);
});

test('a process given its own semi-space flag is left alone', async () => {
  const { initial, held } = await sizes(['--max-semi-space-size=8']);
  expect(held).toBeGreaterThan(initial);
});
