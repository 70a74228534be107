import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { median, report } from './lib/load.ts';
import { memoryOf, repoRoot, spawnBenchDaemon } from './lib/spawn-daemon.ts';
import { gql, waitForJob } from './lib/ws-client.ts';

/**
 * What the per-job supervisor costs: start-to-settled time of a trivial job through backplane
 * against spawning the same command directly and waiting for it, and the supervisor's RSS.
 */
const printBin = path.join(repoRoot, 'test/fixtures/bin/job-print');
const direct: number[] = [];
for (let i = 0; i < 10; i++) {
  const t0 = performance.now();
  await execa(printBin, ['1']);
  direct.push(performance.now() - t0);
}

const builtinsOff = { ilab: { enabled: false }, 'nvidia-smi': { enabled: false }, 'vllm-podman': { enabled: false } };
const daemon = await spawnBenchDaemon({ plugins: { ...builtinsOff, 'jobs-test': { module: path.join(repoRoot, 'test/helpers/jobs-test-plugin.ts') } } });
const supervised: number[] = [];
for (let i = 0; i < 10; i++) {
  const t0 = performance.now();
  const { testStartJob: id } = await gql<{ testStartJob: string }>(daemon.url, 'mutation { testStartJob(fixture: "job-print", args: ["1"]) }');
  await waitForJob(daemon.url, id);
  supervised.push(performance.now() - t0);
}
const { testStartJob: id } = await gql<{ testStartJob: string }>(daemon.url, 'mutation { testStartJob(fixture: "job-sleep", args: ["2"]) }');
await new Promise((r) => setTimeout(r, 700));
const { job } = await gql<{ job: { pid: number } }>(daemon.url, 'query($id: ID!) { job(id: $id) { pid } }', { id });
const stat = await readFile(`/proc/${job.pid}/stat`, 'utf8');
const supervisorPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
const supervisor = await memoryOf(supervisorPid);
await waitForJob(daemon.url, id);
await daemon.stop();

report('direct spawn + wait (no restart survival)', { median_ms: median(direct) });
report('job through backplane, start to settled', { median_ms: median(supervised) });
report('  added latency per job', { ms: median(supervised) - median(direct) });
report('  supervisor process', { rss_MiB: supervisor.rssMiB });
