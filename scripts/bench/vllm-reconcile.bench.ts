import { execa } from 'execa';
import { builtinPlugins } from '../../plugins/index.ts';
import { createModelRoot, freePort, startPodmanEnv } from '../../test/helpers/podman-env.ts';
import { median, report } from './lib/load.ts';
import { cpuSecondsOf, spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * Cost of one reconcile pass with 20 running vLLM containers (list by label, compare with the
 * tracked servers, health-probe each running one), against the floor it cannot go below: the
 * one `podman ps --all --filter label=… --format json` the pass itself runs.
 */
const servers = 20;
const passes = 10;
const env = await startPodmanEnv();
const models = await createModelRoot({ bench: { loadMs: 0 } });
const plugins = Object.fromEntries(builtinPlugins.map((p) => [p.id, p.id === 'vllm-podman' ? { modelRoots: [models.root], deviceMode: 'none', reconcileIntervalMs: 600_000 } : { enabled: false }]));
const daemon = await spawnBenchDaemon({ plugins });

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${daemon.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: any; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors[0].message);
  return body.data;
}

try {
  const names = Array.from({ length: servers }, (_, i) => `bench-${i}`);
  for (const name of names) {
    await gql('mutation($i: StartVllmServerInput!) { startVllmServer(input: $i) { status } }', { i: { name, modelPath: models.path('bench'), port: await freePort() } });
  }
  while ((await gql('{ vllmServers { status } }')).vllmServers.filter((s: { status: string }) => s.status === 'running').length < servers) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const ours: number[] = [];
  const floor: number[] = [];
  const cpuBefore = await cpuSecondsOf(daemon.pid);
  for (let i = 0; i < passes; i++) {
    const started = performance.now();
    const { reconcileVllmServers: r } = await gql('mutation { reconcileVllmServers { containers adopted settled removed } }');
    ours.push(performance.now() - started);
    if (r.containers !== servers || r.settled + r.removed + r.adopted !== 0) throw new Error(`unexpected reconcile report ${JSON.stringify(r)}`);
    const t0 = performance.now();
    await execa('podman', ['ps', '--all', '--filter', 'label=backplane.plugin=vllm-podman', '--format', 'json']);
    floor.push(performance.now() - t0);
  }
  const cpuMs = ((await cpuSecondsOf(daemon.pid)) - cpuBefore) * 1000 / passes;
  report(`reconcile pass, ${servers} running containers (${passes} passes)`, { p50ms: median(ours), maxMs: Math.max(...ours), daemonCpuMsPerPass: cpuMs });
  report('  podman ps --all --format json alone', { p50ms: median(floor), maxMs: Math.max(...floor) });
  report('  ratio (aim <= 2)', { time_ratio: median(ours) / median(floor) });

  for (const name of names) await gql('mutation($n: String!) { stopVllmServer(name: $n) { status } }', { n: name });
} finally {
  await daemon.stop();
  await env.podman(['rm', '--all', '--force', '--time', '0']);
  await env.cleanup();
  await models.cleanup();
}
