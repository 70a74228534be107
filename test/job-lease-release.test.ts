import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin, type JobService, type PluginServices } from '../core/plugin-api.ts';
import { nvidiaSmiPlugin } from '../plugins/nvidia-smi/index.ts';
import { createFakeNvidiaSmi, type FakeNvidiaSmi } from './fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { fixturesDir } from './helpers/fixtures.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

/**
 * A job's GPUs go back before its end is visible. A trigger records, at the very moment a job's
 * row turns terminal, how many leases its job still holds in the database; the GraphQL API and
 * `/gpu-free` are read right after the status is seen, as a client polling the job would.
 */
const gpuJob = path.join(fixturesDir, 'nvidia-smi', 'gpu-job');

let services: PluginServices | undefined;
const watchPlugin = definePlugin({
  id: 'lease-watch',
  version: '1.0.0',
  migrations: [
    {
      name: '0001-terminal-status-trigger',
      up({ dialect, sql }) {
        if (dialect !== 'sqlite') throw new Error('this test runs on SQLite');
        sql('create table `lease_watch_ends` (`job_id` text not null, `status` text not null, `leases` integer not null)');
        sql(
          "create trigger `lease_watch_on_end` after update of `status` on `bp_jobs` when new.`status` in ('succeeded', 'failed', 'cancelled') and old.`status` <> new.`status` " +
            'begin insert into `lease_watch_ends` (`job_id`, `status`, `leases`) values (new.`id`, new.`status`, (select count(*) from `bp_gpu_leases` where `holder_id` = new.`id`)); end',
        );
      },
    },
  ],
  init: (s) => {
    services = s;
  },
});
const jobs = (): JobService => services!.jobs;

/** What the trigger saw when the job's status turned terminal. */
async function endsOf(id: string): Promise<{ status: string; leases: number }[]> {
  const rows = await services!.db.em().getConnection().execute<{ status: string; leases: number }[]>('select `status`, `leases` from `lease_watch_ends` where `job_id` = ?', [id]);
  return rows.map((r: { status: string; leases: number }) => ({ status: r.status, leases: Number(r.leases) }));
}

let fake: FakeNvidiaSmi;
let gates: string;
beforeAll(async () => {
  fake = await createFakeNvidiaSmi('four-mixed');
  gates = await mkdtemp(path.join(os.tmpdir(), 'bp-lease-gates-'));
});
afterAll(async () => {
  await fake.remove();
  await rm(gates, { recursive: true, force: true });
});

function boot(options: { dataDir?: string; onShutdown?: 'keep' | 'stop' } = {}): Promise<TestDaemon> {
  return startTestDaemon({
    plugins: [nvidiaSmiPlugin, watchPlugin],
    dataDir: options.dataDir,
    config: { jobs: { onShutdown: options.onShutdown ?? 'stop' }, plugins: { 'nvidia-smi': { bin: fake.bin, intervalMs: 200 } } },
  });
}

async function startGpuJob(exitCode = 0, command = gpuJob) {
  const gate = path.join(gates, `gate-${Math.random().toString(36).slice(2)}`);
  const job = await jobs().start({ idPrefix: 'l', kind: 'lease-test', command, args: [gate, String(exitCode)], gpus: { indices: [0] } });
  return { id: job.id, open: () => writeFile(gate, '') };
}

const statusQuery = 'query($id: ID!) { job(id: $id) { status } gpuLeases { holder { id } } }';

/** Polls the job like a client; returns the leases listed in the same answer that first shows it ended. */
async function leasesWhenEnded(bp: TestDaemon, id: string, statuses: string[]) {
  return waitFor(async () => {
    const { data } = await bp.gql(statusQuery, { id });
    return statuses.includes(data.job.status) ? { status: data.job.status as string, leases: data.gpuLeases as { holder: { id: string } }[] } : undefined;
  });
}

describe('a job ends after its GPU lease is released', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await boot();
  });
  afterAll(() => bp.stop());

  test.each([
    ['succeeded', 0],
    ['failed', 3],
  ] as const)('when its process exits (%s)', async (status, exitCode) => {
    const job = await startGpuJob(exitCode);
    await waitFor(async () => ((await jobs().get(job.id))?.status === 'running' ? true : undefined));
    expect(await (await bp.request('/gpu-free')).text()).toBe('{"free_gpus":1,"total_gpus":4}\n');
    await job.open();
    const seen = await leasesWhenEnded(bp, job.id, [status]);
    expect(seen.leases.filter((l) => l.holder.id === job.id)).toEqual([]);
    expect(await (await bp.request('/gpu-free')).text()).toBe('{"free_gpus":2,"total_gpus":4}\n');
    expect(await endsOf(job.id)).toEqual([{ status, leases: 0 }]);
  });

  test('when it is cancelled while running', async () => {
    const job = await startGpuJob();
    await waitFor(async () => ((await jobs().get(job.id))?.status === 'running' ? true : undefined));
    const cancelled = await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { status } }', { id: job.id });
    expect(cancelled.data.cancelJob.status).toBe('cancelled');
    expect(await (await bp.request('/gpu-free')).text()).toBe('{"free_gpus":2,"total_gpus":4}\n');
    expect(await endsOf(job.id)).toEqual([{ status: 'cancelled', leases: 0 }]);
  });

  test('when its command cannot be started', async () => {
    const job = await startGpuJob(0, path.join(gates, 'no-such-command'));
    const seen = await leasesWhenEnded(bp, job.id, ['failed']);
    expect(seen.leases).toEqual([]);
    expect(await endsOf(job.id)).toEqual([{ status: 'failed', leases: 0 }]);
  });
});

test('a job settled at restart releases its restored lease before its status is written', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-lease-restart-'));
  try {
    const first = await boot({ dataDir, onShutdown: 'keep' });
    const job = await startGpuJob();
    await waitFor(async () => ((await jobs().get(job.id))?.status === 'running' ? true : undefined));
    await first.stop({ keepData: true });
    // It ends while no daemon runs; the next start settles it from its exit status.
    await job.open();
    await waitFor(() => (existsSync(path.join(dataDir, 'run', job.id, 'exit.json')) ? true : undefined));
    const second = await boot({ dataDir, onShutdown: 'keep' });
    try {
      const seen = await leasesWhenEnded(second, job.id, ['succeeded']);
      expect(seen.leases).toEqual([]);
      expect(await endsOf(job.id)).toEqual([{ status: 'succeeded', leases: 0 }]);
    } finally {
      await second.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
