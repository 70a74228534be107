import path from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';

/**
 * CI's short pass of the fuzz suite (`npm run fuzz`, docs/security.md): the real daemon as a
 * process on loopback, ~40 s of hostile requests to every REST route, /graphql and graphql-ws.
 * A fixed seed keeps CI reproducible; FUZZ_SEED picks another.
 */
test('a short fuzz pass finds no undocumented 5xx, crash, hang, stray file or memory growth', async () => {
  const seed = process.env.FUZZ_SEED ?? '20261202';
  const run = await execa(process.execPath, [path.resolve('scripts/fuzz/index.ts'), '--seed', seed, '--iterations', '6000', '--duration-s', '40'], { reject: false, all: true, timeout: 170_000 });
  const output = run.all ?? '';
  expect(output, output).toContain(`seed ${seed}`);
  expect(output).toMatch(/requests per route family/);
  expect(run.exitCode, output).toBe(0);
  expect(output).toContain('PASS: no undocumented 5xx');
}, 180_000);
