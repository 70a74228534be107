import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { createFakeIlab, type FakeIlab } from './fixtures/ilab/fake-ilab-env.ts';
import { spawnDaemon, type DaemonProcess } from './helpers/daemon-process.ts';
import { waitFor } from './helpers/wait-for.ts';

const running: DaemonProcess[] = [];
let dataDir: string | undefined;
let fake: FakeIlab | undefined;

afterEach(async () => {
  for (const d of running.splice(0)) {
    d.process.kill('SIGKILL');
    await d.process;
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  await fake?.cleanup();
});

const jobQuery = 'query($id: ID!) { job(id: $id) { status log(tail: 200) children { id kind status pid } } }';

test('a pipeline restarted during training tells each step once, however often the daemon restarts', async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-ilab-resume-'));
  fake = await createFakeIlab();
  const gate = path.join(fake.home, 'train-may-finish');
  await fake.scenario({ gate: { 'model train': gate } });
  const config = {
    plugins: { 'nvidia-smi': { enabled: false }, 'vllm-podman': { enabled: false }, ilab: await fake.config() },
    jobs: { onShutdown: 'keep' },
  };
  let daemon = await spawnDaemon(dataDir, config);
  running.push(daemon);
  const started = await daemon.gql('mutation { startIlabPipeline(modelName: "models/granite-8b-starter-v1", branchName: "other", epochs: 1) { jobId } }');
  const id = started.data.startIlabPipeline.jobId;
  await waitFor(async () => (await daemon.gql(jobQuery, { id })).data.job.children.find((c: { kind: string; status: string }) => c.kind === 'train' && c.status === 'running'));

  for (let restart = 0; restart < 2; restart++) {
    daemon.process.kill('SIGKILL');
    await daemon.process;
    running.splice(running.indexOf(daemon), 1);
    daemon = await spawnDaemon(dataDir, config);
    running.push(daemon);
    await waitFor(async () => ((await daemon.gql(jobQuery, { id })).data.job.log.includes('Resuming pipeline job') ? true : undefined));
  }

  await writeFile(gate, '');
  const done = await waitFor(async () => {
    const job = (await daemon.gql(jobQuery, { id })).data.job;
    return job.status === 'running' ? undefined : job;
  });
  expect(done.status).toBe('succeeded');
  const lines: string[] = done.log.trimEnd().split('\n');
  const count = (line: string) => lines.filter((l) => l === line).length;
  expect(count('Data generation step completed successfully.')).toBe(1);
  expect(count('Starting training step...')).toBe(1);
  expect(count('Resuming pipeline job after a backplane restart.')).toBe(2);
  expect(count('Training step completed successfully.')).toBe(1);
  expect(count('Pipeline job completed successfully.')).toBe(1);
});
