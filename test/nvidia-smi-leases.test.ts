import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { groupAlive } from '../core/jobs/proc-stat.ts';
import { definePlugin, type JobRecord, type JobService } from '../core/plugin-api.ts';
import { nvidiaSmiPlugin } from '../plugins/nvidia-smi/index.ts';
import { createFakeNvidiaSmi, type FakeNvidiaSmi } from './fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { fixturesDir } from './helpers/fixtures.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const gpuJob = path.join(fixturesDir, 'nvidia-smi', 'gpu-job');

/** Starts jobs through the public job service, the way the ilab or vLLM plugins do. */
let jobs: JobService | undefined;
const gpuJobsPlugin = definePlugin({
  id: 'gpu-jobs-test',
  version: '1.0.0',
  init: (services) => {
    jobs = services.jobs;
  },
});

let fake: FakeNvidiaSmi;
let gates: string;
const pids: number[] = [];

beforeAll(async () => {
  fake = await createFakeNvidiaSmi('four-mixed');
  gates = await mkdtemp(path.join(os.tmpdir(), 'bp-gates-'));
});
afterAll(async () => {
  await fake.remove();
  await rm(gates, { recursive: true, force: true });
});
afterEach(() => {
  // No job outlives its test.
  for (const pid of pids.splice(0)) expect(groupAlive(pid)).toBe(false);
});

function boot(options: { dataDir?: string; onShutdown?: 'keep' | 'stop' } = {}): Promise<TestDaemon> {
  return startTestDaemon({
    plugins: [nvidiaSmiPlugin, gpuJobsPlugin],
    dataDir: options.dataDir,
    config: { jobs: { onShutdown: options.onShutdown ?? 'stop' }, plugins: { 'nvidia-smi': { bin: fake.bin, intervalMs: 200 } } },
  });
}

/** A job that waits for its gate file, then exits with `exitCode`. */
async function startGpuJob(gpus: { indices?: number[]; count?: number }, exitCode = 0): Promise<{ job: JobRecord; open(): Promise<void> }> {
  const gate = path.join(gates, `gate-${Math.random().toString(36).slice(2)}`);
  const job = await jobs!.start({ idPrefix: 'g', kind: 'gpu-test', command: gpuJob, args: [gate, String(exitCode)], gpus });
  return { job, open: () => writeFile(gate, '') };
}

const jobQuery = 'query($id: ID!) { job(id: $id) { id status exitCode pid gpus startedAt finishedAt } }';
const leaseQuery = '{ gpuLeases { id indices uuids cudaVisibleDevices podmanDeviceArgs holder { kind id } } gpus { index free lease { id holder { id } } } }';

async function job(bp: TestDaemon, id: string) {
  return (await bp.gql(jobQuery, { id })).data.job;
}

async function jobIn(bp: TestDaemon, id: string, statuses: string[]) {
  return waitFor(async () => {
    const j = await job(bp, id);
    return statuses.includes(j.status) ? j : undefined;
  });
}

describe('GPU leases for jobs', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    await fake.use('four-mixed');
    bp = await boot();
  });
  afterAll(async () => {
    await bp.stop();
    expect(await fake.running()).toEqual([]);
  });

  test('jobs wanting the same GPU run one after another, in the order they asked', async () => {
    const a = await startGpuJob({ indices: [0] });
    const b = await startGpuJob({ indices: [0] });
    const c = await startGpuJob({ indices: [0] });
    const runningA = await jobIn(bp, a.job.id, ['running']);
    pids.push(runningA.pid);
    expect(runningA.gpus).toEqual([0]);
    const { data } = await bp.gql(leaseQuery);
    expect(data.gpuLeases).toEqual([
      {
        id: expect.any(String),
        indices: [0],
        uuids: ['GPU-78aaaccb-3af1-11b3-b1f8-3828c251d9f2'],
        cudaVisibleDevices: '0',
        podmanDeviceArgs: ['--device', 'nvidia.com/gpu=0'],
        holder: { kind: 'job', id: a.job.id },
      },
    ]);
    expect(data.gpus[0]).toEqual({ index: 0, free: false, lease: { id: data.gpuLeases[0].id, holder: { id: a.job.id } } });
    expect((await job(bp, b.job.id)).status).toBe('queued');
    expect((await job(bp, c.job.id)).status).toBe('queued');

    await a.open();
    const runningB = await jobIn(bp, b.job.id, ['running']);
    pids.push(runningB.pid);
    const doneA = await job(bp, a.job.id);
    expect(doneA.status).toBe('succeeded');
    expect(Date.parse(runningB.startedAt)).toBeGreaterThanOrEqual(Date.parse(doneA.finishedAt));
    expect((await job(bp, c.job.id)).status).toBe('queued');
    expect((await bp.gql(leaseQuery)).data.gpuLeases.map((l: { holder: { id: string } }) => l.holder.id)).toEqual([b.job.id]);
    expect(await readFile((await jobs!.get(b.job.id))!.logPath, 'utf8')).toContain('CUDA_VISIBLE_DEVICES=0\n');

    await b.open();
    pids.push((await jobIn(bp, c.job.id, ['running'])).pid);
    await c.open();
    await jobIn(bp, c.job.id, ['succeeded']);
    expect((await bp.gql(leaseQuery)).data.gpuLeases).toEqual([]);
  });

  test('a job that crashes (exit 3) releases its lease', async () => {
    const crash = await startGpuJob({ indices: [2] }, 3);
    await crash.open();
    const ended = await jobIn(bp, crash.job.id, ['failed']);
    expect(ended).toMatchObject({ exitCode: 3, gpus: [2] });
    const { data } = await bp.gql(leaseQuery);
    expect(data.gpuLeases).toEqual([]);
    expect(data.gpus[2]).toEqual({ index: 2, free: true, lease: null });
  });

  test('a count is served from free GPUs only: busy cards 1 and 3 are never handed out', async () => {
    const two = await startGpuJob({ count: 2 });
    const running = await jobIn(bp, two.job.id, ['running']);
    pids.push(running.pid);
    expect(running.gpus).toEqual([0, 2]);
    expect(await readFile((await jobs!.get(two.job.id))!.logPath, 'utf8')).toContain('CUDA_VISIBLE_DEVICES=0,2\n');
    // Both free GPUs are leased now: /gpu-free agrees.
    expect(await (await bp.request('/gpu-free')).text()).toBe('{"free_gpus":0,"total_gpus":4}\n');
    await two.open();
    await jobIn(bp, two.job.id, ['succeeded']);
    expect(await (await bp.request('/gpu-free')).text()).toBe('{"free_gpus":2,"total_gpus":4}\n');
  });

  test('an admin can release a stuck lease; the next job gets the GPU', async () => {
    const holder = await startGpuJob({ indices: [0] });
    pids.push((await jobIn(bp, holder.job.id, ['running'])).pid);
    const next = await startGpuJob({ indices: [0] });
    const leaseId = (await bp.gql(leaseQuery)).data.gpuLeases[0].id;
    const released = await bp.gql('mutation($id: ID!) { releaseGpuLease(id: $id) { id indices holder { kind id } } }', { id: leaseId });
    expect(released.data.releaseGpuLease).toEqual({ id: leaseId, indices: [0], holder: { kind: 'job', id: holder.job.id } });
    pids.push((await jobIn(bp, next.job.id, ['running'])).pid);
    await holder.open();
    await next.open();
    await jobIn(bp, next.job.id, ['succeeded']);
  });
});

test('a lease survives a daemon restart and ends with its job', async () => {
  await fake.use('four-mixed');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-gpu-restart-'));
  try {
    const first = await boot({ dataDir, onShutdown: 'keep' });
    const held = await startGpuJob({ indices: [0] });
    const running = await jobIn(first, held.job.id, ['running']);
    pids.push(running.pid);
    const leaseId = (await first.gql(leaseQuery)).data.gpuLeases[0].id;
    await first.stop({ keepData: true });
    expect(groupAlive(running.pid)).toBe(true);

    const second = await boot({ dataDir, onShutdown: 'keep' });
    try {
      const { data } = await second.gql(leaseQuery);
      expect(data.gpuLeases).toMatchObject([{ id: leaseId, indices: [0], holder: { kind: 'job', id: held.job.id } }]);
      expect(data.gpus[0]).toMatchObject({ free: false, lease: { id: leaseId } });
      const cancelled = await second.gql('mutation($id: ID!) { cancelJob(id: $id) { status } }', { id: held.job.id });
      expect(cancelled.data.cancelJob.status).toBe('cancelled');
      const after = await second.gql(leaseQuery);
      expect(after.data.gpuLeases).toEqual([]);
      expect(after.data.gpus[0]).toMatchObject({ free: true, lease: null });
    } finally {
      await second.stop();
    }
    expect(await fake.running()).toEqual([]);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
