import path from 'node:path';
import { startBareServer } from './lib/bare-server.js';
import { report, runLoad } from './lib/load.js';
import { repoRoot, spawnBenchDaemon } from './lib/spawn-daemon.js';

/**
 * A trivial GraphQL query and a trivial REST route through the daemon, against a bare
 * node:http handler returning the same bytes, measured in the same run.
 */
const builtinsOff = { ilab: { enabled: false }, 'nvidia-smi': { enabled: false }, 'vllm-podman': { enabled: false } };
const daemon = await spawnBenchDaemon({ plugins: { ...builtinsOff, hello: { module: path.join(repoRoot, 'examples/hello-plugin/index.ts') } } });
const query = JSON.stringify({ query: '{ daemon { version } }' });
const graphqlBytes = await (await fetch(`${daemon.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: query })).text();
const restBytes = await (await fetch(`${daemon.url}/api/hello/bench`)).text();

const cases = [
  { name: 'GraphQL { daemon { version } }', path: '/graphql', method: 'POST', body: query, bytes: graphqlBytes },
  { name: 'REST GET /api/hello/{name}', path: '/api/hello/bench', method: 'GET', body: undefined, bytes: restBytes },
];
for (const c of cases) {
  const bare = await startBareServer(c.bytes);
  const options = { method: c.method, body: c.body, headers: { 'content-type': 'application/json' }, concurrency: 16, durationMs: 4000 };
  await runLoad({ ...options, url: `${daemon.url}${c.path}`, durationMs: 1000 }); // warm-up
  await runLoad({ ...options, url: `${bare.url}${c.path}`, durationMs: 1000 });
  const ours = await runLoad({ ...options, url: `${daemon.url}${c.path}`, check: (status, body) => status === 200 && body.toString() === c.bytes });
  const base = await runLoad({ ...options, url: `${bare.url}${c.path}` });
  report(c.name, { rps: ours.rps, p99ms: ours.p99ms, errors: ours.errors });
  report('  bare node:http, same bytes', { rps: base.rps, p99ms: base.p99ms });
  report('  ratio (aim >= 0.5)', { rps_ratio: ours.rps / base.rps, p99_ratio: base.p99ms / ours.p99ms });
  await bare.stop();
}
await daemon.stop();
