import path from 'node:path';
import { median, report } from './lib/load.ts';
import { repoRoot, spawnBenchDaemon } from './lib/spawn-daemon.ts';
import { gql, waitForJob } from './lib/ws-client.ts';

/**
 * `Job.log(tail: 100)` on a 10 MiB and on a 1 GiB log: median latency of each. Reading from the
 * end in blocks, the two should be about equal.
 */
const builtinsOff = { ilab: { enabled: false }, 'nvidia-smi': { enabled: false }, 'vllm-podman': { enabled: false } };
const daemon = await spawnBenchDaemon({ jobs: { maxLogBytes: 2 * 1024 * 1024 * 1024 }, plugins: { ...builtinsOff, 'jobs-test': { module: path.join(repoRoot, 'test/helpers/jobs-test-plugin.ts') } } });
const sizes = [{ label: '10 MiB', bytes: 10 * 1024 * 1024 }, { label: '1 GiB', bytes: 1024 * 1024 * 1024 }];
const medians: number[] = [];
for (const { label, bytes } of sizes) {
  const { testStartJob: id } = await gql<{ testStartJob: string }>(daemon.url, 'mutation($a: [String!]!) { testStartJob(fixture: "sh", command: "/bin/sh", args: $a) }', {
    a: ['-c', `yes 'log line: the quick brown fox jumps over the lazy dog 0123456789' | head -c ${bytes}`],
  });
  await waitForJob(daemon.url, id);
  const times: number[] = [];
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now();
    const { job } = await gql<{ job: { log: string; logSize: number } }>(daemon.url, 'query($id: ID!) { job(id: $id) { logSize log(tail: 100) } }', { id });
    times.push(performance.now() - t0);
    // `head -c` may cut the last line: then it has no newline, and the split has 100 parts.
    if (job.log.replace(/\n$/, '').split('\n').length !== 100) throw new Error('tail did not return 100 lines');
  }
  medians.push(median(times.slice(10)));
  report(`tail=100 on a ${label} log`, { median_ms: median(times.slice(10)), p90_ms: times.slice(10).sort((a, b) => a - b)[Math.floor(0.9 * 50)] });
}
report('  ratio 1 GiB / 10 MiB (aim ~1)', { ratio: medians[1] / medians[0] });
await daemon.stop();
