import { rm } from 'node:fs/promises';
import { createFakeNvidiaSmi } from '../../test/fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { compareWithBare } from './lib/compare.ts';
import { spawnBenchDaemon } from './lib/spawn-daemon.ts';

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
  await compareWithBare({ name: 'GET /gpu-free (ilab-ui, 4 GPUs)', daemonUrl: daemon.url, path: '/gpu-free' });
} finally {
  await daemon.stop();
  await rm(daemon.dataDir, { recursive: true, force: true });
  await fake.remove();
}
