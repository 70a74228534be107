import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { createFakeIlab, type FakeIlab } from './fixtures/ilab/fake-ilab-env.ts';
import { spawnDaemon, type DaemonProcess } from './helpers/daemon-process.ts';
import { waitFor } from './helpers/wait-for.ts';

const running: DaemonProcess[] = [];
const groups: number[] = [];
let dataDir: string | undefined;
let fake: FakeIlab | undefined;

afterEach(async () => {
  for (const d of running.splice(0)) {
    d.process.kill('SIGKILL');
    await d.process;
  }
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  await fake?.cleanup();
});

const jobQuery = 'query($id: ID!) { job(id: $id) { status pid finishedAt log(tail: 100) labels { key value } children { id kind status pid labels { key value } } } }';

test('a pipeline survives kill -9 of the daemon: its step is re-adopted, the pipeline resumes, stale worktrees go', async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-ilab-restart-'));
  fake = await createFakeIlab();
  const gate = path.join(fake.home, 'generate-may-finish');
  await fake.scenario({ gate: { 'data generate': gate } });
  const config = {
    plugins: { 'nvidia-smi': { enabled: false }, 'vllm-podman': { enabled: false }, ilab: await fake.config() },
    log: { level: 'info' },
    jobs: { onShutdown: 'keep' },
  };
  const first = await spawnDaemon(dataDir, config);
  running.push(first);
  const started = await first.gql('mutation { startIlabPipeline(modelName: "models/granite-8b-starter-v1", branchName: "other", epochs: 1) { jobId } }');
  const id = started.data.startIlabPipeline.jobId;
  const generate = await waitFor(async () => (await first.gql(jobQuery, { id })).data.job.children.find((c: { status: string }) => c.status === 'running'));
  groups.push(generate.pid);
  const worktree = path.join(dataDir, 'plugins', 'ilab', 'worktrees', generate.labels.find((l: { key: string }) => l.key === 'worktree').value);
  expect(existsSync(worktree)).toBe(true);
  // A worktree left behind by some earlier crash, with no job behind it.
  const stale = path.join(dataDir, 'plugins', 'ilab', 'worktrees', 'wt-stale');
  fake.git('worktree', 'add', '--detach', stale, 'main');

  first.process.kill('SIGKILL');
  await first.process;
  running.splice(running.indexOf(first), 1);

  const second = await spawnDaemon(dataDir, config);
  running.push(second);
  await waitFor(() => (second.output().includes('"msg":"ready"') ? true : undefined));
  expect(existsSync(stale)).toBe(false);
  expect(fake.git('worktree', 'list')).not.toContain('wt-stale');
  expect(existsSync(worktree)).toBe(true);
  expect((await second.gql(jobQuery, { id: generate.id })).data.job.status).toBe('running');

  await writeFile(gate, '');
  const done = await waitFor(async () => {
    const job = (await second.gql(jobQuery, { id })).data.job;
    return job.status === 'running' ? undefined : job;
  });
  expect(done.status).toBe('succeeded');
  expect(done.finishedAt).not.toBeNull();
  expect(done.children.map((c: { kind: string; status: string }) => [c.kind, c.status])).toEqual([
    ['data-generate', 'succeeded'],
    ['train', 'succeeded'],
  ]);
  const lines = done.log.trimEnd().split('\n');
  expect(lines.slice(lines.indexOf('Resuming pipeline job after a backplane restart.'))).toEqual([
    'Resuming pipeline job after a backplane restart.',
    'Data generation step completed successfully.',
    'Starting training step...',
    `Training step started with job_id=${done.children[1].id}`,
    'Training step completed successfully.',
    'Pipeline job completed successfully.',
  ]);
  await waitFor(() => (existsSync(worktree) ? undefined : true));
});
