import path from 'node:path';
import { compareWithBare } from './lib/compare.ts';
import { repoRoot, spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * A trivial GraphQL query and a trivial REST route through the daemon, against a bare
 * node:http handler returning the same bytes, measured in the same run.
 */
const builtinsOff = { ilab: { enabled: false }, 'nvidia-smi': { enabled: false }, 'vllm-podman': { enabled: false } };
const daemon = await spawnBenchDaemon({ plugins: { ...builtinsOff, hello: { module: path.join(repoRoot, 'examples/hello-plugin/index.ts') } } });
const query = JSON.stringify({ query: '{ daemon { version } }' });
await compareWithBare({ name: 'GraphQL { daemon { version } }', daemonUrl: daemon.url, path: '/graphql', method: 'POST', body: query });
await compareWithBare({ name: 'REST GET /api/hello/{name}', daemonUrl: daemon.url, path: '/api/hello/bench' });
await daemon.stop();
