import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin, type GpuLease, type GpuService, type JobService, type ServingBackend, type ServingRegistry } from '../core/plugin-api.ts';
import { nvidiaSmiPlugin } from '../plugins/nvidia-smi/index.ts';
import { createFakeNvidiaSmi, type FakeNvidiaSmi } from './fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { fixturesDir } from './helpers/fixtures.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { idleGpu } from './helpers/test-gpus.ts';
import { waitFor } from './helpers/wait-for.ts';

const leasesQuery = '{ gpuLeases { id indices holder { kind id } } }';

/** The code of the coded error a promise rejects with. */
const codeOf = (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: { code?: string }) => error.code);

describe('gpus: a plugin ends only the leases it acquired', () => {
  let fake: FakeNvidiaSmi;
  let gates: string;
  let bp: TestDaemon;
  let owner: GpuService;
  let intruder: { gpus: GpuService; jobs: JobService; provide(): void };

  const ownerPlugin = definePlugin({ id: 'lease-owner', version: '1.0.0', init: ({ gpus }) => void (owner = gpus) });
  const intruderPlugin = definePlugin({
    id: 'lease-intruder',
    version: '1.0.0',
    init: ({ gpus, jobs, gpuInventory }) => {
      const inventory = [idleGpu(0)];
      intruder = { gpus, jobs, provide: () => gpuInventory.provide({ id: 'intruder', current: () => inventory, refresh: async () => inventory, freeMemoryMiB: 100 }) };
    },
  });

  beforeAll(async () => {
    fake = await createFakeNvidiaSmi('four-mixed');
    gates = await mkdtemp(path.join(os.tmpdir(), 'bp-scope-gates-'));
    bp = await startTestDaemon({ plugins: [nvidiaSmiPlugin, ownerPlugin, intruderPlugin], config: { plugins: { 'nvidia-smi': { bin: fake.bin, intervalMs: 200 } } } });
  });
  afterAll(async () => {
    await bp?.stop();
    await fake.remove();
    await rm(gates, { recursive: true, force: true });
  });

  test('a foreign lease is FORBIDDEN to release and stays; its owner releases it', async () => {
    const holder = { kind: 'server' as const, id: 'lease-owner/s1' };
    const lease = await owner.acquire({ indices: [0], holder, wait: false });
    expect(lease.owner).toBe('lease-owner');

    await expect(codeOf(intruder.gpus.release(lease.id))).resolves.toBe('FORBIDDEN');
    await intruder.gpus.releaseHolder(holder);
    expect(intruder.gpus.leases({ own: true })).toEqual([]);
    expect(owner.leases({ own: true }).map((l) => l.id)).toEqual([lease.id]);
    expect((await bp.gql(leasesQuery)).data.gpuLeases).toEqual([{ id: lease.id, indices: [0], holder }]);

    await owner.releaseHolder(holder);
    expect((await bp.gql(leasesQuery)).data.gpuLeases).toEqual([]);
  });

  test("a job's lease belongs to core: not even the job's plugin releases it; it ends with the job", async () => {
    const gate = path.join(gates, 'gate');
    const job = await intruder.jobs.start({ idPrefix: 'g', kind: 'gpu-test', command: path.join(fixturesDir, 'nvidia-smi', 'gpu-job'), args: [gate], gpus: { indices: [2] } });
    const lease = await waitFor(() => intruder.gpus.leases().find((l: GpuLease) => l.holder.id === job.id));
    expect(lease.owner).toBe('core');
    await expect(codeOf(intruder.gpus.release(lease.id))).resolves.toBe('FORBIDDEN');
    await expect(codeOf(owner.release(lease.id))).resolves.toBe('FORBIDDEN');
    expect((await bp.gql(leasesQuery)).data.gpuLeases).toEqual([{ id: lease.id, indices: [2], holder: { kind: 'job', id: job.id } }]);

    await writeFile(gate, '');
    expect((await intruder.jobs.wait(job.id)).status).toBe('succeeded');
    expect((await bp.gql(leasesQuery)).data.gpuLeases).toEqual([]);
  });

  test('the inventory has one provider: a second plugin gets CONFLICT', () => {
    expect(() => intruder.provide()).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(owner.list()).toHaveLength(4);
  });
});

describe('serving: a stopped plugin’s backends are gone', () => {
  const backend = (id: string): ServingBackend => ({
    id,
    start: async () => {
      throw new Error('not used');
    },
    stop: async () => undefined,
    get: async () => undefined,
    list: async () => [],
  });
  /** What the observer's serving registry showed when its shutdown hook ran. */
  let seenAtStop: string[] | undefined;
  let bp: TestDaemon;

  // Started first, so it stops last: its shutdown hook sees the registry after the others stopped.
  const observer = definePlugin({
    id: 'serving-observer',
    version: '1.0.0',
    init: ({ serving, lifecycle }) => {
      lifecycle.onShutdown(() => void (seenAtStop = serving.list().map((b) => b.id)));
      return serving;
    },
    schema(builder, { api }) {
      builder.queryField('testServingBackends', (t) => t.stringList({ resolve: (_root, _args, ctx) => api(ctx).list().map((b) => b.id) }));
    },
  });
  const steady = definePlugin({ id: 'steady-backend', version: '1.0.0', init: ({ serving }) => serving.register(backend('steady')) });
  const broken = definePlugin({
    id: 'broken-backend',
    version: '1.0.0',
    init: ({ serving, gpuInventory }) => {
      serving.register(backend('broken'));
      gpuInventory.provide({ id: 'broken', current: () => [idleGpu(0)], refresh: async () => [idleGpu(0)], freeMemoryMiB: 100 });
      throw new Error('the backend broke during init');
    },
  });
  let late: { serving: ServingRegistry; gpus: GpuService } | undefined;
  const latecomer = definePlugin({ id: 'latecomer', version: '1.0.0', init: ({ serving, gpus }) => void (late = { serving, gpus }) });

  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [observer, steady, broken, latecomer] });
  });
  afterAll(async () => {
    await bp?.stop();
  });

  test('a plugin whose init fails leaves no backend and no GPU inventory behind', async () => {
    const { data } = await bp.gql('{ testServingBackends plugins { id status } }');
    expect(data.testServingBackends).toEqual(['steady']);
    expect(data.plugins).toContainEqual({ id: 'broken-backend', status: 'failed' });
    expect(late!.serving.get('broken')).toBeUndefined();
    expect(late!.gpus.list()).toEqual([]);
    await expect(codeOf(late!.gpus.acquire({ count: 1, holder: { kind: 'server', id: 'latecomer/x' }, wait: false }))).resolves.toBe('UNAVAILABLE');
  });

  test('a backend id is one plugin’s: registering it again is CONFLICT', () => {
    expect(() => late!.serving.register(backend('steady'))).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
  });

  test('once its plugin stopped, a backend is gone for the plugins still running', async () => {
    await bp.stop();
    expect(seenAtStop).toEqual([]);
  });
});
