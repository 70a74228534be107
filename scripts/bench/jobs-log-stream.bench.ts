import path from 'node:path';
import { execa } from 'execa';
import { report } from './lib/load.ts';
import { memoryOf, repoRoot, spawnBenchDaemon } from './lib/spawn-daemon.ts';
import { gql, wsClient } from './lib/ws-client.ts';

/**
 * A job prints 500,000 lines as fast as it can: lines per second delivered to a graphql-ws
 * subscriber of `jobLog`, against a bare Node process reading the same command's stdout.
 * Both clocks run from the first lines received (the first stdout chunk, the first event) to
 * the last, so neither includes starting the command. Also the daemon's peak RSS, which must
 * stay bounded (no whole-log buffering).
 */
const count = 500_000;
const linesBin = path.join(repoRoot, 'test/fixtures/bin/job-lines');

// The baseline counts newlines in raw stdout chunks: the cheapest way a process can consume them.
let bareFirst = 0;
let bareLast = 0;
let bareLines = 0;
const bare = execa(linesBin, [String(count)], { buffer: false });
bare.stdout!.on('data', (chunk: Buffer) => {
  bareLast = performance.now();
  if (bareFirst === 0) bareFirst = bareLast;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) bareLines++;
});
await bare;
const bareSeconds = (bareLast - bareFirst) / 1000;

const builtinsOff = { ilab: { enabled: false }, 'nvidia-smi': { enabled: false }, 'vllm-podman': { enabled: false } };
const daemon = await spawnBenchDaemon({ jobs: { maxLogBytes: 1024 * 1024 * 1024 }, plugins: { ...builtinsOff, 'jobs-test': { module: path.join(repoRoot, 'test/helpers/jobs-test-plugin.ts') } } });
const before = await memoryOf(daemon.pid);
const { testStartJob: id } = await gql<{ testStartJob: string }>(daemon.url, 'mutation($a: [String!]!) { testStartJob(fixture: "sh", command: "/bin/sh", args: $a) }', {
  a: ['-c', `sleep 1; exec "$0" ${count}`, linesBin],
});
const client = wsClient(daemon.url);
let received = 0;
let events = 0;
let first = 0;
let last = 0;
for await (const event of client.iterate<{ jobLog: { lines: string[] } }>({ query: 'subscription($id: ID!) { jobLog(id: $id, tail: 100000) { lines } }', variables: { id } })) {
  last = performance.now();
  if (first === 0) first = last;
  received += event.data!.jobLog.lines.length;
  events++;
}
const seconds = (last - first) / 1000;
const after = await memoryOf(daemon.pid);
await client.dispose();
await daemon.stop();

report('bare node reading stdout', { lines: bareLines, lines_per_s: bareLines / bareSeconds });
report('jobLog over graphql-ws', { lines: received, events, lines_per_s: received / seconds });
report('  ratio (aim >= 0.5)', { ratio: received / seconds / (bareLines / bareSeconds) });
report('  daemon RSS', { before_MiB: before.rssMiB, peak_MiB: after.peakMiB });
if (received !== count) process.exitCode = 1;
