import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { builtinPlugins } from '../../plugins/index.ts';
import { FakeTriton, writeFakeModel } from '../../test/helpers/fake-triton.ts';
import { compareWithBare } from './lib/compare.ts';
import { median, report } from './lib/load.ts';
import { spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * The fleet view "models across all servers" with 10 fake Triton servers of 100 models each
 * (5 ms of network latency per answer), against the same 10 index calls made one after another;
 * then GraphQL `tritonServers` against a bare handler answering the same bytes (and a trivial
 * query the same way, as this run's reference).
 */
const serverCount = 10;
const modelsPerServer = 100;
const rounds = 20;
const tmp = await mkdtemp(path.join(os.tmpdir(), 'bp-bench-triton-'));
const fakes: FakeTriton[] = [];
const plugins = Object.fromEntries(builtinPlugins.map((p) => [p.id, p.id === 'triton' ? { probeIntervalMs: 600_000 } : { enabled: false }]));
const daemon = await spawnBenchDaemon({ plugins });

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${daemon.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: any; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors[0]!.message);
  return body.data;
}

try {
  for (let s = 0; s < serverCount; s++) {
    const repository = path.join(tmp, `repo-${s}`);
    for (let m = 0; m < modelsPerServer; m++) await writeFakeModel(repository, `model-${m}`);
    const fake = await new FakeTriton({ repository, latencyMs: 5, metrics: false }).start();
    fakes.push(fake);
    await gql('mutation($i: RegisterTritonServerInput!) { registerTritonServer(input: $i) { id } }', { i: { host: '127.0.0.1', httpPort: fake.port } });
  }

  const fleet: number[] = [];
  const sequential: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now();
    const data = await gql('{ tritonFleet { models { name readyOn placements { serverId } } errors { serverId } } }');
    fleet.push(performance.now() - t0);
    if (data.tritonFleet.models.length !== modelsPerServer || data.tritonFleet.models[0].placements.length !== serverCount) throw new Error('unexpected fleet');
    t0 = performance.now();
    for (const fake of fakes) {
      const response = await fetch(`http://127.0.0.1:${fake.port}/v2/repository/index`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      if ((await response.json()).length !== modelsPerServer) throw new Error('unexpected index');
    }
    sequential.push(performance.now() - t0);
  }
  report(`fleet query, ${serverCount} servers x ${modelsPerServer} models (${rounds} rounds)`, { p50ms: median(fleet), maxMs: Math.max(...fleet) });
  report('  the same 10 index calls one after another', { p50ms: median(sequential), maxMs: Math.max(...sequential) });
  report('  ratio (aim <= 0.5: concurrent fan-out)', { time_ratio: median(fleet) / median(sequential) });

  await compareWithBare({
    name: `GraphQL tritonServers (${serverCount} servers)`,
    daemonUrl: daemon.url,
    path: '/graphql',
    method: 'POST',
    body: JSON.stringify({ query: '{ tritonServers { id host httpPort metricsPort gpus health { state live ready } } }' }),
  });
  // The same comparison for a trivial query, so the ratio above can be read against this run's noise.
  await compareWithBare({ name: 'reference: GraphQL { daemon { version } }', daemonUrl: daemon.url, path: '/graphql', method: 'POST', body: JSON.stringify({ query: '{ daemon { version } }' }) });
} finally {
  await daemon.stop();
  for (const fake of fakes) await fake.stop();
  await rm(tmp, { recursive: true, force: true });
}
