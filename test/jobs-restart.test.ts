import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { groupAlive } from '../core/jobs/proc-stat.ts';
import { spawnDaemon, type DaemonProcess } from './helpers/daemon-process.ts';
import { waitFor } from './helpers/wait-for.ts';

const plugin = { 'jobs-test': { module: path.resolve('test/helpers/jobs-test-plugin.ts') } };
const running: DaemonProcess[] = [];
const pids: number[] = [];
let dataDir: string;

afterEach(async () => {
  for (const d of running.splice(0)) {
    d.process.kill('SIGKILL');
    await d.process;
  }
  for (const pid of pids.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await rm(dataDir, { recursive: true, force: true });
});

async function daemon(): Promise<DaemonProcess> {
  const d = await spawnDaemon(dataDir, { plugins: plugin, log: { level: 'info' }, jobs: { onShutdown: 'keep' } });
  running.push(d);
  return d;
}

async function kill9(d: DaemonProcess) {
  d.process.kill('SIGKILL');
  await d.process;
  running.splice(running.indexOf(d), 1);
}

const query = 'query($id: ID!) { job(id: $id) { status exitCode signal failureReason pid } }';

test('a job survives kill -9 of the daemon, is re-adopted and settled with its real exit code', async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-restart-'));
  const first = await daemon();
  // The job ends only when the test says so, however long the restart takes.
  const gate = path.join(dataDir, 'gate');
  const started = await first.gql('mutation($a: [String!]!) { testStartJob(fixture: "sh", command: "/bin/sh", args: $a) }', { a: ['-c', `echo waiting; while [ ! -e '${gate}' ]; do sleep 0.05; done; exit 5`] });
  const id = started.data.testStartJob;
  const { pid } = await waitFor(async () => {
    const j = (await first.gql(query, { id })).data.job;
    return j.status === 'running' ? j : undefined;
  });
  pids.push(pid);
  await kill9(first);
  expect(groupAlive(pid)).toBe(true);

  const second = await daemon();
  expect((await second.gql(query, { id })).data.job.status).toBe('running');
  expect(second.output()).toContain('re-adopted running job');
  await writeFile(gate, '');
  const done = await waitFor(async () => {
    const j = (await second.gql(query, { id })).data.job;
    return j.status !== 'running' ? j : undefined;
  });
  expect(done).toMatchObject({ status: 'failed', exitCode: 5, failureReason: 'exited with code 5' });
});

test('a job whose process died while the daemon was down is settled as failed', async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-restart-'));
  const first = await daemon();
  const killed = (await first.gql('mutation { testStartJob(fixture: "job-sleep", args: ["60"]) }')).data.testStartJob;
  const lost = (await first.gql('mutation { testStartJob(fixture: "job-sleep", args: ["60"]) }')).data.testStartJob;
  const rows = await waitFor(async () => {
    const a = (await first.gql(query, { id: killed })).data.job;
    const b = (await first.gql(query, { id: lost })).data.job;
    return a.status === 'running' && b.status === 'running' ? [a, b] : undefined;
  });
  pids.push(rows[0].pid, rows[1].pid);
  await kill9(first);
  // The first job's process is killed: its supervisor records the signal.
  process.kill(-rows[0].pid, 'SIGKILL');
  await waitFor(() => (!groupAlive(rows[0].pid) ? true : undefined));
  // The second loses its supervisor too, as after a host crash: nothing records an exit status.
  const stat = await readFile(`/proc/${rows[1].pid}/stat`, 'utf8');
  const supervisor = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  process.kill(supervisor, 'SIGKILL');
  process.kill(-rows[1].pid, 'SIGKILL');
  await waitFor(() => (!groupAlive(rows[0].pid) && !groupAlive(rows[1].pid) ? true : undefined));
  await new Promise((r) => setTimeout(r, 300));

  const second = await daemon();
  const a = await waitFor(async () => {
    const j = (await second.gql(query, { id: killed })).data.job;
    return j.status !== 'running' ? j : undefined;
  });
  expect(a).toMatchObject({ status: 'failed', signal: 'SIGKILL', failureReason: 'killed by signal SIGKILL' });
  const b = (await second.gql(query, { id: lost })).data.job;
  expect(b.status).toBe('failed');
  expect(b.failureReason).toMatch(/^lost: /);
});
