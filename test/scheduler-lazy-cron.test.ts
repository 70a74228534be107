import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { spawnDaemon } from './helpers/daemon-process.ts';

/**
 * node-cron (whose ticks page in ICU data) is loaded only when a plugin schedules a cron
 * expression. A fresh daemon process, as users start it, records every module URL it loads
 * (a `--import` hook) and writes them when it exits.
 */
let dir: string;
let hook: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bp-lazy-cron-'));
  hook = path.join(dir, 'record-loads.mjs');
  await writeFile(
    hook,
    `import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const loaded = new Set();
registerHooks({ load(url, context, next) { loaded.add(url); return next(url, context); } });
process.on('exit', () => writeFileSync(process.env.BP_LOADED_FILE, JSON.stringify([...loaded])));
`,
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Starts a daemon with ilab in mock mode, waits for its first model-cache refresh, stops it, and returns the node-cron URLs it loaded. */
async function cronModulesLoaded(name: string, ilab: Record<string, unknown>): Promise<{ models: string[]; cron: string[] }> {
  const dataDir = path.join(dir, name);
  const loadedFile = path.join(dir, `${name}.json`);
  await mkdir(dataDir);
  const daemon = await spawnDaemon(dataDir, { plugins: { ilab: { mode: 'mock', ...ilab }, 'nvidia-smi': { enabled: false }, 'vllm-podman': { enabled: false }, 'llama-cpp': { enabled: false } } }, [], {
    NODE_OPTIONS: `--import ${hook}`,
    BP_LOADED_FILE: loadedFile,
  });
  let models: string[];
  try {
    const result = await daemon.gql<{ ilabModels: { name: string }[] }>('{ ilabModels { name } }');
    expect(result.errors).toBeUndefined();
    models = result.data!.ilabModels.map((m) => m.name);
  } finally {
    daemon.process.kill('SIGTERM');
    await daemon.process;
  }
  const loaded = JSON.parse(await readFile(loadedFile, 'utf8')) as string[];
  return { models, cron: loaded.filter((url) => url.includes('/node_modules/node-cron/')) };
}

test('with the default interval refresh, the daemon never loads node-cron', async () => {
  const { models, cron } = await cronModulesLoaded('interval', {});
  expect(models).toContain('instructlab/granite-7b-lab');
  expect(cron).toEqual([]);
});

test('a configured cron expression loads node-cron (so the check above can see it)', async () => {
  const { models, cron } = await cronModulesLoaded('cron', { modelCacheRefresh: '*/20 * * * *' });
  expect(models).toContain('instructlab/granite-7b-lab');
  expect(cron.length).toBeGreaterThan(0);
});
