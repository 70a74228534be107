import path from 'node:path';
import { compareWithBare } from './lib/compare.ts';
import { repoRoot, spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * A trivial GraphQL query (answered as `application/json` and, for GraphQL-over-HTTP clients,
 * as `application/graphql-response+json`) and a trivial REST route through the daemon, against
 * a bare node:http handler returning the same bytes, measured in the same run.
 */
const builtinsOff = { ilab: { enabled: false }, 'nvidia-smi': { enabled: false }, 'vllm-podman': { enabled: false } };
const daemon = await spawnBenchDaemon({ plugins: { ...builtinsOff, hello: { module: path.join(repoRoot, 'examples/hello-plugin/src/index.ts') } } });
const query = JSON.stringify({ query: '{ daemon { version } }' });
await compareWithBare({ name: 'GraphQL { daemon { version } }', daemonUrl: daemon.url, path: '/graphql', method: 'POST', body: query });
// GraphQL over HTTP clients ask for the spec's media type; the fast path answers it too.
await compareWithBare({
  name: 'GraphQL, Accept: graphql-response+json',
  daemonUrl: daemon.url,
  path: '/graphql',
  method: 'POST',
  body: query,
  headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
});
await compareWithBare({ name: 'REST GET /api/hello/{name}', daemonUrl: daemon.url, path: '/api/hello/bench' });
await daemon.stop();
