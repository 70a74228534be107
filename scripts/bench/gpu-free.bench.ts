import { rm } from 'node:fs/promises';
import { createFakeNvidiaSmi } from '../../test/fixtures/nvidia-smi/fake-nvidia-smi.js';
import { startBareServer } from './lib/bare-server.js';
import { report, runLoad } from './lib/load.js';
import { spawnBenchDaemon } from './lib/spawn-daemon.js';

/**
 * The legacy `GET /gpu-free` (ilab-ui profile: a GraphQL operation over the latest nvidia-smi
 * sample, Go JSON) against a bare node:http handler returning the same bytes, in the same run.
 * The fake nvidia-smi shows four GPUs, two of them free.
 */
const fake = await createFakeNvidiaSmi('four-mixed');
const daemon = await spawnBenchDaemon({ plugins: { ilab: { enabled: false }, 'vllm-podman': { enabled: false }, 'nvidia-smi': { bin: fake.bin } } });
try {
  const expected = '{"free_gpus":2,"total_gpus":4}\n';
  const ours = await (await fetch(`${daemon.url}/gpu-free`)).text();
  if (ours !== expected) throw new Error(`GET /gpu-free answered ${JSON.stringify(ours)}, expected ${JSON.stringify(expected)}`);
  const bare = await startBareServer(expected);
  try {
    const options = { concurrency: 16, durationMs: 4000 };
    await runLoad({ ...options, url: `${daemon.url}/gpu-free`, durationMs: 1000 }); // warm-up
    await runLoad({ ...options, url: `${bare.url}/gpu-free`, durationMs: 1000 });
    const a = await runLoad({ ...options, url: `${daemon.url}/gpu-free`, check: (status, body) => status === 200 && body.toString() === expected });
    const b = await runLoad({ ...options, url: `${bare.url}/gpu-free` });
    report('GET /gpu-free (ilab-ui, 4 GPUs)', { rps: a.rps, p50ms: a.p50ms, p99ms: a.p99ms, errors: a.errors });
    report('  bare node:http, same bytes', { rps: b.rps, p50ms: b.p50ms, p99ms: b.p99ms });
    report('  ratio (aim >= 0.5)', { rps_ratio: a.rps / b.rps, p99_ratio: b.p99ms / a.p99ms });
  } finally {
    await bare.stop();
  }
} finally {
  await daemon.stop();
  await rm(daemon.dataDir, { recursive: true, force: true });
  await fake.remove();
}
