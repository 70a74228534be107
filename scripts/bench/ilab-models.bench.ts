import path from 'node:path';
import { execa } from 'execa';
import { compareWithBare } from './lib/compare.ts';
import { median, report, runLoad } from './lib/load.ts';
import { repoRoot, spawnBenchDaemon, type BenchDaemon } from './lib/spawn-daemon.ts';

/**
 * The legacy `GET /models` (ilab-ui profile) served from the ilab plugin's model cache, against a
 * bare node:http handler returning the same bytes; and how long a cold cache takes to answer
 * (the first refresh runs `ilab model list`). ilab runs in mock mode: the bundled simulator is
 * a real process printing ilab 0.26's table, so a refresh costs one process start and a parse.
 */
const config = { plugins: { 'nvidia-smi': { enabled: false }, 'vllm-podman': { enabled: false }, ilab: { mode: 'mock' } } };
const simulator = path.join(repoRoot, 'plugins', 'ilab', 'mock', 'ilab-sim.mjs');

async function timeToFirstModels(): Promise<{ firstModelsMs: number; daemon: BenchDaemon }> {
  const daemon = await spawnBenchDaemon(config);
  const t0 = performance.now();
  const response = await fetch(`${daemon.url}/models`);
  if (response.status !== 200) throw new Error(`GET /models answered ${response.status}: ${await response.text()}`);
  await response.text();
  return { firstModelsMs: performance.now() - t0, daemon };
}

// Cold: /models right after /readyz, while the start-up refresh may still be running.
const colds: number[] = [];
let warm: BenchDaemon | undefined;
for (let i = 0; i < 3; i++) {
  const { firstModelsMs, daemon } = await timeToFirstModels();
  colds.push(firstModelsMs);
  if (i < 2) await daemon.stop();
  else warm = daemon;
}
const daemon = warm!;
try {
  const listOnce = async () => {
    const t0 = performance.now();
    await execa(process.execPath, [simulator, 'model', 'list'], { env: { ILAB_SIM_HOME: path.join(daemon.dataDir, 'plugins', 'ilab', 'mock-home') } });
    return performance.now() - t0;
  };
  const refreshOnce = async () => {
    const t0 = performance.now();
    const response = await fetch(`${daemon.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'mutation { refreshIlabModels { name } }' }) });
    if (!(await response.json()).data) throw new Error('refreshIlabModels failed');
    return performance.now() - t0;
  };
  const lists: number[] = [];
  const refreshes: number[] = [];
  for (let i = 0; i < 10; i++) {
    lists.push(await listOnce());
    refreshes.push(await refreshOnce());
  }
  report('cold cache: first GET /models after /readyz', { median_ms: median(colds), runs: colds.length });
  report('  refreshIlabModels (one ilab model list + parse)', { median_ms: median(refreshes) });
  report('  bare `ilab model list` process (simulator)', { median_ms: median(lists) });

  await compareWithBare({ name: 'GET /models from the cache (ilab-ui, 4 models)', daemonUrl: daemon.url, path: '/models' });
} finally {
  await daemon.stop();
}
