import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin, type GpuService, type JobService, type JobSpec } from '../core/plugin-api.ts';
import { fixtureBin, fixturesDir } from './helpers/fixtures.ts';
import { idleGpu } from './helpers/test-gpus.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

// Backfill past a job that waits for GPUs, its reservation, what it says it waits for, and the
// wait limit: a real daemon, real jobs, and a host of four idle (fake) GPUs.

const gpuJob = path.join(fixturesDir, 'nvidia-smi', 'gpu-job');
const fourGpus = [0, 1, 2, 3].map(idleGpu);

let jobs: JobService | undefined;
let gpus: GpuService | undefined;
const backfillPlugin = definePlugin({
  id: 'backfill-test',
  version: '1.0.0',
  init: ({ jobs: service, gpus: gpuService, gpuInventory }) => {
    jobs = service;
    gpus = gpuService;
    gpuInventory.provide({ id: 'test-gpus', current: () => fourGpus, refresh: async () => fourGpus, freeMemoryMiB: 100 });
  },
});

let gates: string;
beforeAll(async () => {
  gates = await mkdtemp(path.join(os.tmpdir(), 'bp-backfill-'));
});
afterAll(() => rm(gates, { recursive: true, force: true }));

/** A job that prints its GPUs and runs until its gate file exists. */
async function gated(idPrefix: string, gpus: JobSpec['gpus'], extra: Partial<JobSpec> = {}): Promise<{ id: string; open(): Promise<void> }> {
  const gate = path.join(gates, `gate-${Math.random().toString(36).slice(2)}`);
  const job = await jobs!.start({ idPrefix, kind: 'backfill-test', command: gpuJob, args: [gate], gpus, ...extra });
  return { id: job.id, open: () => writeFile(gate, '') };
}

/** A job that needs no GPU and ends at once. */
async function quick(): Promise<string> {
  return (await jobs!.start({ idPrefix: 'q', kind: 'backfill-test', command: fixtureBin('job-print'), args: ['1'] })).id;
}

const fields = 'id status gpus waitingFor startedAt failureReason logPath';

async function job(bp: TestDaemon, id: string) {
  const result = await bp.gql(`query($id: ID!) { job(id: $id) { ${fields} } }`, { id });
  expect(result.errors).toBeUndefined();
  return result.data.job;
}

function jobIn(bp: TestDaemon, id: string, statuses: string[]) {
  return waitFor(async () => {
    const j = await job(bp, id);
    return statuses.includes(j.status) ? j : undefined;
  });
}

function waitingAs(bp: TestDaemon, id: string, reason: string) {
  return waitFor(async () => {
    const j = await job(bp, id);
    return j.waitingFor === reason ? j : undefined;
  });
}

/** The `[backplane] …` lines the runner wrote into a job's log. */
async function noteLines(logPath: string): Promise<string[]> {
  return (await readFile(logPath, 'utf8')).split('\n').filter((line) => line.startsWith('[backplane] '));
}

describe('backfill and reservation', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [backfillPlugin], config: { jobs: { maxConcurrent: 4, backfillWindowMs: 4000 } } });
  });
  afterAll(() => bp.stop());

  test('a 4-GPU job lets jobs that fit run past it, then keeps GPUs as they free up and runs first', async () => {
    // Two of the four GPUs held: by a training job and by a long-running model server.
    const train = await gated('t', { count: 1 });
    const server = await gated('ml', { count: 1 }, { longRunning: true });
    expect((await jobIn(bp, train.id, ['running'])).gpus).toEqual([3]);
    expect((await jobIn(bp, server.id, ['running'])).gpus).toEqual([2]);

    const head = await gated('t', { count: 4 });
    const noGpu = await quick();
    const small = await gated('t', { count: 1 });
    // Within the head's backfill window both fit, and both run past it.
    const waiting = await waitingAs(bp, head.id, `waiting for 4 GPUs (1 free, held by ${small.id}, ${server.id}, ${train.id})`);
    expect(waiting).toMatchObject({ status: 'queued', gpus: [], startedAt: null });
    expect((await jobIn(bp, noGpu, ['succeeded'])).status).toBe('succeeded');
    expect((await jobIn(bp, small.id, ['running'])).gpus).toEqual([1]);

    // The window ends: the head keeps the free GPU, and from now on every GPU that frees up.
    const kept = `waiting for 4 GPUs (1 free and kept for this job, held by ${small.id}, ${server.id}, ${train.id})`;
    await waitingAs(bp, head.id, kept);
    // One log line per change of reason, none repeated.
    expect(await noteLines(waiting.logPath)).toEqual([
      `[backplane] waiting for 4 GPUs (2 free, held by ${server.id}, ${train.id})`,
      `[backplane] waiting for 4 GPUs (1 free, held by ${small.id}, ${server.id}, ${train.id})`,
      `[backplane] ${kept}`,
    ]);

    // The legacy API has no word for queued: the job is `running` there, and its log says why.
    const legacy = JSON.parse(await (await bp.request('/jobs')).text()) as { job_id: string; status: string }[];
    expect(legacy.find((j) => j.job_id === head.id)?.status).toBe('running');
    expect(await (await bp.request(`/jobs/${head.id}/logs`)).text()).toContain(`[backplane] ${kept}\n`);
    const queued = await bp.gql('{ jobs(status: queued) { edges { node { id waitingFor } } } }');
    expect(queued.data.jobs.edges).toContainEqual({ node: { id: head.id, waitingFor: kept } });

    // A later GPU job no longer fits beside the reservation; a job without GPUs still runs.
    const later = await gated('t', { count: 1 });
    await waitingAs(bp, later.id, `waiting for 1 GPU (0 free, held by ${small.id}, ${server.id}, ${train.id}; kept for ${head.id}, queued earlier)`);
    expect((await jobIn(bp, await quick(), ['succeeded'])).status).toBe('succeeded');

    // GPUs free up one by one and go to the head, however many small jobs keep arriving.
    await train.open();
    await jobIn(bp, train.id, ['succeeded']);
    await waitingAs(bp, head.id, `waiting for 4 GPUs (2 free and kept for this job, held by ${small.id}, ${server.id})`);
    const stream = [later, await gated('t', { count: 1 }), await gated('t', { indices: [3] }), await gated('ml', { count: 1 }, { longRunning: true })];
    await small.open();
    await jobIn(bp, small.id, ['succeeded']);
    expect((await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { status } }', { id: server.id })).data.cancelJob.status).toBe('cancelled');

    const running = await jobIn(bp, head.id, ['running']);
    expect(running).toMatchObject({ gpus: [0, 1, 2, 3], waitingFor: null });
    for (const s of stream) expect((await job(bp, s.id)).status).toBe('queued');

    await head.open();
    await jobIn(bp, head.id, ['succeeded']);
    for (const s of stream) {
      const started = await jobIn(bp, s.id, ['running', 'succeeded']);
      expect(Date.parse(started.startedAt)).toBeGreaterThanOrEqual(Date.parse((await job(bp, head.id)).startedAt));
      await s.open();
      await jobIn(bp, s.id, ['succeeded']);
    }
  });

  test('a job waiting for a slot says so, and goes ahead of later jobs once its GPUs are there', async () => {
    const hog = await gated('ml', { count: 4 }, { longRunning: true });
    await jobIn(bp, hog.id, ['running']);
    const blockers = [await gated('t', undefined), await gated('t', undefined), await gated('t', undefined), await gated('t', undefined)];
    for (const b of blockers) await jobIn(bp, b.id, ['running']);
    const gpuJob2 = await gated('t', { count: 2 });
    const plain = await quick();
    await waitingAs(bp, gpuJob2.id, `waiting for 2 GPUs (0 free, held by ${hog.id})`);
    await waitingAs(bp, plain, 'waiting for a job slot (jobs.maxConcurrent=4)');
    // Its GPUs come after the later job queued for a slot; it still goes first.
    await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id: hog.id });
    await waitingAs(bp, gpuJob2.id, 'waiting for a job slot (jobs.maxConcurrent=4)');
    await blockers[0].open();
    const started = await jobIn(bp, gpuJob2.id, ['running']);
    expect(started.gpus).toEqual([2, 3]);
    expect((await job(bp, plain)).status).toBe('queued');
    for (const b of [...blockers, gpuJob2]) await b.open();
    await jobIn(bp, plain, ['succeeded']);
  });
});

describe('jobs.maxWaitMs', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [backfillPlugin], config: { jobs: { maxConcurrent: 1, backfillWindowMs: 0, maxWaitMs: 2500 } } });
  });
  afterAll(() => bp.stop());

  test('a job queued too long fails with what it waited for, and its GPU request is withdrawn', async () => {
    const holder = await gated('t', { count: 1 });
    await jobIn(bp, holder.id, ['running']);
    const big = await gated('t', { count: 4 });
    const slotWaiter = await quick();
    await waitingAs(bp, big.id, `waiting for 4 GPUs (3 free and kept for this job, held by ${holder.id})`);
    await waitingAs(bp, slotWaiter, 'waiting for a job slot (jobs.maxConcurrent=1)');

    const failed = await jobIn(bp, big.id, ['failed']);
    expect(failed.failureReason).toBe(`waited longer than jobs.maxWaitMs (2500 ms), waiting for 4 GPUs (3 free and kept for this job, held by ${holder.id})`);
    expect(failed.waitingFor).toBeNull();
    expect((await job(bp, slotWaiter)).failureReason).toBe('waited longer than jobs.maxWaitMs (2500 ms), waiting for a job slot (jobs.maxConcurrent=1)');

    // Its reservation went with it: three GPUs are there for the next job at once.
    const server = await gated('ml', { count: 3 }, { longRunning: true });
    expect((await jobIn(bp, server.id, ['running'])).gpus).toEqual([0, 1, 2]);
    expect(gpus!.leases().map((lease) => lease.holder.id).sort()).toEqual([holder.id, server.id].sort());
    await holder.open();
    await jobIn(bp, holder.id, ['succeeded']);
    await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id: server.id });
  });
});

test('a job still waiting after a restart says so again in GraphQL, not again in its log', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-backfill-restart-'));
  const boot = () => startTestDaemon({ plugins: [backfillPlugin], dataDir, config: { jobs: { maxConcurrent: 1, onShutdown: 'keep' } } });
  try {
    const first = await boot();
    const blocker = await gated('t', undefined);
    await jobIn(first, blocker.id, ['running']);
    const waiter = await gated('t', { count: 1 });
    const reason = 'waiting for a job slot (jobs.maxConcurrent=1)';
    const { logPath } = await waitingAs(first, waiter.id, reason);
    await first.stop({ keepData: true });

    const second = await boot();
    try {
      await waitingAs(second, waiter.id, reason);
      expect(await noteLines(logPath)).toEqual([`[backplane] ${reason}`]);
      await blocker.open();
      await jobIn(second, waiter.id, ['running']);
      await waiter.open();
      await jobIn(second, waiter.id, ['succeeded']);
      expect(await noteLines(logPath)).toEqual([`[backplane] ${reason}`]);
    } finally {
      await second.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
