import { execa } from 'execa';
import { builtinPlugins } from '../../plugins/index.ts';
import { createModelRoot, defaultVllmImage, freePort, startPodmanEnv } from '../../test/helpers/podman-env.ts';
import { median, report } from './lib/load.ts';
import { spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * Start-to-running latency of a vLLM server: through backplane (`startVllmServer`, then poll
 * `vllmServer.status` until `running`) against `podman run` plus a curl loop on `/v1/models`,
 * on the same fake-vLLM image (which loads at once), alternating, in the same run.
 */
const rounds = 7;
const pollMs = 20;
const env = await startPodmanEnv();
const models = await createModelRoot({ bench: { loadMs: 0 } });
const plugins = Object.fromEntries(builtinPlugins.map((p) => [p.id, p.id === 'vllm-podman' ? { modelRoots: [models.root], deviceMode: 'none', reconcileIntervalMs: 600_000 } : { enabled: false }]));
const daemon = await spawnBenchDaemon({ plugins });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${daemon.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: any; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors[0].message);
  return body.data;
}

async function throughBackplane(): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  await gql('mutation($i: StartVllmServerInput!) { startVllmServer(input: $i) { status } }', { i: { name: 'bench', modelPath: models.path('bench'), port } });
  while ((await gql('{ vllmServer(name: "bench") { status } }')).vllmServer.status !== 'running') await sleep(pollMs);
  const ms = performance.now() - started;
  await gql('mutation { stopVllmServer(name: "bench") { status } }');
  return ms;
}

async function podmanAndCurl(): Promise<number> {
  const port = await freePort();
  const model = models.path('bench');
  const started = performance.now();
  const run = await execa('podman', ['run', '--detach', '--name', 'bench-baseline', '--pull=never', '--network', 'host', '--security-opt', 'no-new-privileges', '--shm-size', '10g', '--volume', `${model}:${model}:ro`, '--', defaultVllmImage, model, '--served-model-name', 'bench', '--host', '127.0.0.1', '--port', String(port)], { reject: false });
  if (run.exitCode !== 0) throw new Error(`podman run failed: ${run.stderr}`);
  while ((await execa('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${port}/v1/models`], { reject: false })).exitCode !== 0) await sleep(pollMs);
  const ms = performance.now() - started;
  await execa('podman', ['rm', '--force', '--time', '0', 'bench-baseline']);
  return ms;
}

try {
  await throughBackplane(); // warm-up: page cache, image layers
  await podmanAndCurl();
  const ours: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < rounds; i++) {
    ours.push(await throughBackplane());
    baseline.push(await podmanAndCurl());
  }
  report(`vLLM start → running via backplane (${rounds} runs)`, { p50ms: median(ours), minMs: Math.min(...ours), maxMs: Math.max(...ours) });
  report('  podman run + curl loop, same image', { p50ms: median(baseline), minMs: Math.min(...baseline), maxMs: Math.max(...baseline) });
  report('  ratio (aim <= 1.5)', { latency_ratio: median(ours) / median(baseline) });
} finally {
  await daemon.stop();
  await env.cleanup();
  await models.cleanup();
}
