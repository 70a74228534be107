import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { createFakeNvidiaSmi, type FakeNvidiaSmi } from './fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { spawnDaemon, type DaemonProcess } from './helpers/daemon-process.ts';
import { waitFor } from './helpers/wait-for.ts';

const running: DaemonProcess[] = [];
let dataDir: string;
let fake: FakeNvidiaSmi;

afterEach(async () => {
  for (const d of running.splice(0)) {
    d.process.kill('SIGKILL');
    await d.process;
  }
  await fake?.remove();
  await rm(dataDir, { recursive: true, force: true });
});

test('a job waiting for a GPU when the daemon dies keeps waiting after the restart, then runs', async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-gpuq-'));
  fake = await createFakeNvidiaSmi('one-idle');
  const config = {
    log: { level: 'info' },
    jobs: { onShutdown: 'keep' },
    plugins: { 'nvidia-smi': { bin: fake.bin, mode: 'spawn', intervalMs: 200 }, 'jobs-test': { module: path.resolve('test/helpers/jobs-test-plugin.ts') }, ilab: { enabled: false }, 'vllm-podman': { enabled: false } },
  };
  const first = await spawnDaemon(dataDir, config);
  running.push(first);
  const start = (d: DaemonProcess, args: string[]) => d.gql('mutation($a: [String!]!) { testStartJob(fixture: "job-sleep", args: $a, gpuIndices: [0]) }', { a: args });
  const holder = (await start(first, ['30'])).data.testStartJob;
  const waiter = (await start(first, ['0'])).data.testStartJob;
  const status = async (d: DaemonProcess, id: string) => (await d.gql('query($id: ID!) { job(id: $id) { status failureReason } }', { id })).data.job;
  await waitFor(async () => ((await status(first, holder)).status === 'running' ? true : undefined));
  expect((await status(first, waiter)).status).toBe('queued');

  first.process.kill('SIGKILL');
  await first.process;
  running.splice(0);
  const second = await spawnDaemon(dataDir, config);
  running.push(second);
  expect((await status(second, waiter)).status).toBe('queued');
  await second.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id: holder });
  const done = await waitFor(async () => {
    const j = await status(second, waiter);
    return j.status === 'succeeded' || j.status === 'failed' ? j : undefined;
  });
  expect(done).toEqual({ status: 'succeeded', failureReason: null });
});
