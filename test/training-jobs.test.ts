import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nvidiaSmiPlugin } from '../plugins/nvidia-smi/index.ts';
import { trainingPlugin } from '../plugins/training/index.ts';
import { createFakeNvidiaSmi, type FakeNvidiaSmi } from './fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { findPostgresBin, startPostgres, type TestPostgres } from './helpers/postgres.ts';
import { spawnDaemon } from './helpers/daemon-process.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { alive } from './helpers/process-alive.ts';
import { json, trainingApi as api, uploadArithCsv } from './helpers/training.ts';
import { waitFor } from './helpers/wait-for.ts';

/**
 * Training jobs for real: each runs the TypeScript TinyLM worker (plugins/tinker/worker) as a
 * core job speaking bwp/1 over its socket. GPUs come from the fake nvidia-smi (this machine has
 * none), so leases are real leases of the core GPU service.
 */
const tinyWorker = fileURLToPath(new URL('../plugins/tinker/worker/tiny-worker.ts', import.meta.url));
const haveWorker = existsSync(tinyWorker);
/** Debian's python3-torch (scripts/install-test-deps.sh installs it; CI must have it). */
const haveTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!haveWorker)('training jobs on the tiny worker', () => {
  let fake: FakeNvidiaSmi;
  let bp: TestDaemon;
  let datasetId: number;
  const get = async (id: string) => (await bp.request(`${api}/jobs/${id}`)).json();
  const leases = async () => ((await bp.gql('{ gpuLeases { holder { id } } }')).data?.gpuLeases ?? []) as { holder: { id: string } }[];

  beforeAll(async () => {
    fake = await createFakeNvidiaSmi('one-idle');
    bp = await startTestDaemon({ plugins: [nvidiaSmiPlugin, trainingPlugin], config: { plugins: { 'nvidia-smi': { bin: fake.bin, intervalMs: 200 } } } });
    await waitFor(async () => ((await bp.gql('{ gpus { index } }')).data?.gpus?.length > 0 ? true : undefined));
    datasetId = await uploadArithCsv(bp.request);
  });
  afterAll(async () => {
    await bp?.stop();
    await fake?.remove();
  });

  it('keeps a job pending without workers, then runs a qlora job to completion with falling loss', async () => {
    const created = await (await bp.request(`${api}/jobs/`, json({ name: 'qlora tiny', dataset_id: datasetId, training_type: 'qlora', model_name: 'tiny-lm', epochs: 4, batch_size: 4, learning_rate: 0.01 }))).json();
    expect(created).toMatchObject({ status: 'pending', progress: 0, current_epoch: 0 });
    expect(created.id).toMatch(/^job-\d+$/);
    const losses: number[] = [];
    const seen = new Set<string>();
    const client = bp.ws();
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe<{ trainingJobProgress: { status: string; currentLoss: number | null; progress: number } }>(
        { query: `subscription { trainingJobProgress(id: "${created.id}") { status progress currentLoss currentEpoch } }` },
        {
          next: ({ data }) => {
            const j = data!.trainingJobProgress;
            seen.add(j.status);
            if (j.currentLoss !== null && j.status === 'running') losses.push(j.currentLoss);
          },
          error: reject,
          complete: resolve,
        },
      );
    });
    const pool = await (await bp.request(`${api}/workers/`, json({ action: 'start', worker_count: 1 }))).json();
    expect(pool).toMatchObject({ total_workers: 1, active_workers: 1, max_workers: 8 });
    expect(pool.workers[0].id).toMatch(/^worker-[0-9a-f]{8}$/);
    await done;
    const job = await get(created.id);
    expect(job).toMatchObject({ status: 'completed', progress: 100, error_message: null });
    expect(job.current_epoch).toBeGreaterThan(0);
    expect(seen).toContain('running');
    expect(losses.length).toBeGreaterThan(2);
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    expect(existsSync(job.model_path)).toBe(true);
    expect(job.log).toMatch(/Training finished/);
    expect(job.gpus).toEqual([0]);
    // The worker process has ended and its GPU lease with it; the slot counts the job.
    const core = (await bp.gql(`{ job(id: "${job.core_job_id}") { status pid } }`)).data.job;
    expect(core.status).toBe('succeeded');
    expect(alive(core.pid)).toBe(false);
    expect(await leases()).toEqual([]);
    const after = await (await bp.request(`${api}/workers/`)).json();
    expect(after.workers[0]).toMatchObject({ status: 'idle', current_job_id: null, jobs_completed: 1 });
    const status = await (await bp.request(`${api}/jobs/${job.id}/status`)).json();
    expect(Object.keys(status).sort()).toEqual(['current_epoch', 'current_loss', 'error_message', 'id', 'progress', 'status']);
    // Its project-free validation: the trained output loads in a worker.
    const logTail = (await bp.gql(`{ trainingJob(id: "${job.id}") { workerLog(tail: 20) } }`)).data.trainingJob.workerLog;
    expect(typeof logTail).toBe('string');
  });

  it('cancel stops the worker process group and frees the lease before answering cancelled', async () => {
    const created = await (await bp.request(`${api}/jobs/`, json({ name: 'long', dataset_id: datasetId, epochs: 100, batch_size: 1 }))).json();
    expect(created.status).toBe('queued');
    const running = await waitFor(async () => {
      const j = await get(created.id);
      return j.status === 'running' && j.progress > 0 ? j : undefined;
    });
    const pid = (await bp.gql(`{ job(id: "${running.core_job_id}") { pid } }`)).data.job.pid as number;
    expect(alive(pid)).toBe(true);
    expect((await leases()).map((l) => l.holder.id)).toEqual([running.core_job_id]);
    const cancelled = await bp.request(`${api}/jobs/${created.id}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toMatchObject({ id: created.id, status: 'cancelled' });
    // Already true when the answer came: the process is gone and the GPU is free.
    expect(alive(pid)).toBe(false);
    expect(await leases()).toEqual([]);
    expect((await bp.gql(`{ job(id: "${running.core_job_id}") { status } }`)).data.job.status).toBe('cancelled');
    const again = await bp.request(`${api}/jobs/${created.id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(400);
    expect((await again.json()).detail).toMatch(/cannot be cancelled/);
    expect((await bp.request(`${api}/jobs/${created.id.replace('job', 'project')}/cancel`, { method: 'POST' })).status).toBe(404);
  });

  it('queues jobs beyond the pool and runs them as workers free up', async () => {
    const ids: string[] = [];
    for (const type of ['standard', 'unsloth', 'rag']) ids.push((await (await bp.request(`${api}/jobs/`, json({ name: type, training_type: type, dataset_id: datasetId, epochs: 1 }))).json()).id);
    const first = await waitFor(async () => ((await get(ids[0])).status === 'running' ? true : undefined));
    expect(first).toBe(true);
    const pool = await (await bp.request(`${api}/workers/`)).json();
    expect(pool).toMatchObject({ busy_workers: 1, idle_workers: 0 });
    expect(pool.workers[0].current_job_id).toBe(ids[0]);
    expect(pool.jobs_in_queue).toBeGreaterThanOrEqual(1);
    expect((await get(ids[2])).status).toBe('queued');
    // Reading the status dispatches nothing: the scheduler does, as the worker frees up.
    await waitFor(async () => ((await get(ids[2])).status === 'completed' ? true : undefined), { timeoutMs: 120_000 });
    for (const id of ids) expect((await get(id)).status).toBe('completed');
    // rag builds an embedding index with the worker (no loss, as in the real project).
    const rag = await get(ids[2]);
    expect(existsSync(path.join(rag.model_path, 'index.json'))).toBe(true);
    const list = await (await bp.request(`${api}/jobs/?status=completed&page_size=2`)).json();
    expect(list).toMatchObject({ total: 4, page_size: 2, pages: 2 });
  }, 150_000);

  it('stop puts a running job back in the queue (no phantom running) and start runs it again', async () => {
    const id = (await (await bp.request(`${api}/jobs/`, json({ name: 'restartable', dataset_id: datasetId, epochs: 100, batch_size: 1 }))).json()).id;
    const running = await waitFor(async () => {
      const j = await get(id);
      return j.status === 'running' ? j : undefined;
    });
    const stopped = await (await bp.request(`${api}/workers/`, json({ action: 'stop' }))).json();
    expect(stopped.workers.every((w: { status: string }) => w.status === 'stopped')).toBe(true);
    const job = await get(id);
    expect(job.status).toBe('pending');
    expect(job.log).toMatch(/Worker stopped/);
    expect((await bp.gql(`{ job(id: "${running.core_job_id}") { status } }`)).data.job.status).toBe('cancelled');
    expect(await leases()).toEqual([]);
    const restarted = await (await bp.request(`${api}/workers/`, json({ action: 'restart', worker_count: 2 }))).json();
    expect(restarted).toMatchObject({ total_workers: 2, active_workers: 2 });
    await waitFor(async () => ((await get(id)).status === 'running' ? true : undefined));
    await bp.request(`${api}/jobs/${id}/cancel`, { method: 'POST' });
    const tooMany = await bp.request(`${api}/workers/`, json({ action: 'start', worker_count: 7 }));
    expect(tooMany.status).toBe(400);
    expect((await bp.request(`${api}/workers/`, json({ action: 'start', worker_count: 40 }))).status).toBe(422);
  });

  it('trains a project over its mix and validates the output by loading it in a worker', async () => {
    const out = path.join(bp.dataDir, 'plugins', 'training', 'outputs');
    const second = await uploadArithCsv(bp.request);
    const third = await uploadArithCsv(bp.request);
    const project = await (
      await bp.request(`${api}/projects/`, json({ name: 'mix', base_model: 'tiny-lm', output_directory: out, traits: [{ trait_type: 'reasoning', datasets: [{ dataset_id: datasetId, percentage: 100 }] }, { trait_type: 'general_tools', datasets: [{ dataset_id: second, percentage: 60 }, { dataset_id: third, percentage: 40 }] }] }))
    ).json();
    const started = await (await bp.request(`${api}/projects/${project.id}/start`, { method: 'POST' })).json();
    expect(started.status).toBe('pending');
    expect(started.job_id).toMatch(/^job-/);
    const done = await waitFor(async () => {
      const p = await (await bp.request(`${api}/projects/${project.id}`)).json();
      return p.status === 'completed' || p.status === 'failed' ? p : undefined;
    }, { timeoutMs: 120_000 });
    expect(done).toMatchObject({ status: 'completed', progress: 100 });
    expect(done.model_path.startsWith(path.join(out, project.id))).toBe(true);
    const rows = (await readdir(path.join(bp.dataDir, 'plugins', 'training', 'jobs', started.job_id))).includes('dataset.jsonl');
    expect(rows).toBe(true);
    const validation = await (await bp.request(`${api}/projects/${project.id}/validate`, { method: 'POST' })).json();
    expect(validation).toMatchObject({ valid: true, files: { valid: true, errors: [] }, loading: { valid: true, errors: [] }, errors: [] });
    expect(validation.files.files_checked).toEqual(expect.arrayContaining(['adapter.bwpt', 'training_config.json']));
  }, 150_000);
});

describe.skipIf(!haveWorker)('a daemon killed mid-job', () => {
  it('re-adopts the trainer after the restart: the job goes on in the same process and completes with its loss falling', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-train-adopt-'));
    const config = { plugins: { 'nvidia-smi': { enabled: false }, ilab: { enabled: false }, 'vllm-podman': { enabled: false }, 'llama-cpp': { enabled: false } }, jobs: { killGraceSeconds: 2 } };
    let daemon = await spawnDaemon(dataDir, config);
    try {
      const request = (p: string, init?: RequestInit) => fetch(`${daemon.url}${p}`, init);
      const datasetId = await uploadArithCsv(request);
      await request(`${api}/workers/`, json({ action: 'start', worker_count: 1 }));
      const id = (await (await request(`${api}/jobs/`, json({ name: 'survivor', dataset_id: datasetId, epochs: 25, batch_size: 1, learning_rate: 0.01 }))).json()).id;
      const before = await waitFor(async () => {
        const j = await (await request(`${api}/jobs/${id}`)).json();
        return j.status === 'running' && j.progress > 2 && j.current_loss !== null ? j : undefined;
      });
      const pid = (await daemon.gql(`{ job(id: "${before.core_job_id}") { pid } }`)).data!.job.pid as number;
      daemon.process.kill('SIGKILL');
      await daemon.process;
      expect(alive(pid)).toBe(true);
      daemon = await spawnDaemon(dataDir, config);
      const after = await waitFor(async () => {
        const j = await (await fetch(`${daemon.url}${api}/jobs/${id}`)).json();
        return j.status !== 'running' ? j : undefined;
      }, { timeoutMs: 120_000 });
      expect(after, after.error_message ?? '').toMatchObject({ status: 'completed', progress: 100, error_message: null, core_job_id: before.core_job_id });
      expect(after.log).toMatch(/Re-adopted worker .* its training goes on/);
      expect(after.current_loss).toBeLessThan(before.current_loss);
      expect(existsSync(path.join(after.model_path, 'adapter.bwpt'))).toBe(true);
      await waitFor(() => (alive(pid) ? undefined : true));
      expect((await daemon.gql(`{ job(id: "${before.core_job_id}") { status } }`)).data!.job.status).toBe('succeeded');
      const pool = await (await fetch(`${daemon.url}${api}/workers/`)).json();
      expect(pool).toMatchObject({ active_workers: 1, busy_workers: 0 });
      expect(pool.workers[0].jobs_completed).toBe(1);
    } finally {
      daemon.process.kill('SIGTERM');
      await daemon.process;
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 150_000);

  it('fails the job "interrupted" after the restart when its worker is gone, and frees its slot', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-train-restart-'));
    const config = { plugins: { 'nvidia-smi': { enabled: false }, ilab: { enabled: false }, 'vllm-podman': { enabled: false }, 'llama-cpp': { enabled: false } }, jobs: { killGraceSeconds: 2 } };
    let daemon = await spawnDaemon(dataDir, config);
    try {
      const request = (p: string, init?: RequestInit) => fetch(`${daemon.url}${p}`, init);
      const datasetId = await uploadArithCsv(request);
      await request(`${api}/workers/`, json({ action: 'start', worker_count: 1 }));
      const id = (await (await request(`${api}/jobs/`, json({ name: 'long', dataset_id: datasetId, epochs: 100, batch_size: 1 }))).json()).id;
      const running = await waitFor(async () => {
        const j = await (await request(`${api}/jobs/${id}`)).json();
        return j.status === 'running' ? j : undefined;
      });
      const pid = (await daemon.gql(`{ job(id: "${running.core_job_id}") { pid } }`)).data!.job.pid as number;
      daemon.process.kill('SIGKILL');
      await daemon.process;
      // The trainer would wait for the daemon to come back: it dies too.
      process.kill(pid, 'SIGKILL');
      await waitFor(() => (alive(pid) ? undefined : true));
      daemon = await spawnDaemon(dataDir, config);
      const after = await waitFor(async () => {
        const j = await (await fetch(`${daemon.url}${api}/jobs/${id}`)).json();
        return j.status === 'failed' ? j : undefined;
      }, { timeoutMs: 90_000 });
      expect(after.error_message).toMatch(/^interrupted/);
      // The pool comes back at its size, and the slot is free again.
      const pool = await (await fetch(`${daemon.url}${api}/workers/`)).json();
      expect(pool).toMatchObject({ active_workers: 1, busy_workers: 0 });
      await waitFor(() => (alive(pid) ? undefined : true));
      const core = (await daemon.gql(`{ job(id: "${running.core_job_id}") { status } }`)).data!.job.status;
      expect(['succeeded', 'failed', 'cancelled']).toContain(core);
    } finally {
      daemon.process.kill('SIGTERM');
      await daemon.process;
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 150_000);
});

describe('a trainer that cannot start', () => {
  it('fails the job with the reason and the trainer’s log, never a simulation', async () => {
    const bp = await startTestDaemon({ plugins: [trainingPlugin], config: { plugins: { training: { worker: 'python', pythonModule: 'backplane_worker_not_installed' } } } });
    try {
      const datasetId = await uploadArithCsv(bp.request);
      await bp.request(`${api}/workers/`, json({ action: 'start', worker_count: 1 }));
      const id = (await (await bp.request(`${api}/jobs/`, json({ name: 'py', dataset_id: datasetId }))).json()).id;
      const failed = await waitFor(async () => {
        const j = await (await bp.request(`${api}/jobs/${id}`)).json();
        return j.status === 'failed' ? j : undefined;
      }, { timeoutMs: 60_000 });
      expect(failed.error_message).toMatch(/ended before it connected/);
      expect(failed.progress).toBe(0);
      const log = (await bp.gql(`{ trainingJob(id: "${id}") { workerLog(tail: 50) } }`)).data.trainingJob.workerLog as string;
      expect(log).toMatch(/No module named|not found/);
      const pool = await (await bp.request(`${api}/workers/`)).json();
      expect(pool.workers[0]).toMatchObject({ status: 'idle', jobs_completed: 0 });
    } finally {
      await bp.stop();
    }
  });
});

describe.skipIf(!haveTorch && !process.env.CI)('the PyTorch worker (worker: python)', () => {
  it('runs a tiny-lm qlora job to completion with the default interpreter and PYTHONPATH', async () => {
    expect(haveTorch, '/usr/bin/python3 cannot import torch: install python3-torch (scripts/install-test-deps.sh)').toBe(true);
    const bp = await startTestDaemon({ plugins: [trainingPlugin], config: { plugins: { training: { worker: 'python' } } } });
    try {
      const datasetId = await uploadArithCsv(bp.request);
      await bp.request(`${api}/workers/`, json({ action: 'start', worker_count: 1 }));
      const id = (await (await bp.request(`${api}/jobs/`, json({ name: 'py qlora', dataset_id: datasetId, training_type: 'qlora', model_name: 'tiny-lm', epochs: 2, batch_size: 8, learning_rate: 0.01 }))).json()).id;
      const ended = await waitFor(async () => {
        const j = await (await bp.request(`${api}/jobs/${id}`)).json();
        return terminalStatus(j.status) ? j : undefined;
      }, { timeoutMs: 120_000 });
      expect(ended, ended.error_message ?? '').toMatchObject({ status: 'completed', progress: 100, error_message: null });
      expect(ended.current_loss).toBeGreaterThan(0);
      expect(existsSync(ended.model_path)).toBe(true);
      const log = (await bp.gql(`{ trainingJob(id: "${id}") { workerLog(tail: 50) } }`)).data.trainingJob.workerLog as string;
      expect(log).not.toMatch(/No module named/);
    } finally {
      await bp.stop();
    }
  }, 150_000);
});

function terminalStatus(status: string): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

describe.each([
  { db: 'SQLite', pg: false },
  { db: 'PostgreSQL', pg: true },
])('state in the daemon database ($db)', ({ pg }) => {
  let postgres: TestPostgres | undefined;
  beforeAll(async () => {
    if (pg && findPostgresBin()) postgres = await startPostgres();
  });
  afterAll(() => postgres?.stop());

  it('keeps datasets, projects with allocations, the config and the pool across a restart; ids are never reused', async (ctx) => {
    if (pg && !postgres) ctx.skip();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-train-db-'));
    const config = { plugins: { training: {} }, ...(postgres ? { database: { url: postgres.url } } : {}) };
    let bp = await startTestDaemon({ plugins: [trainingPlugin], dataDir, config });
    try {
      const first = await uploadArithCsv(bp.request);
      const second = await uploadArithCsv(bp.request);
      const third = await uploadArithCsv(bp.request);
      await bp.request(`${api}/datasets/${third}`, json({ description: 'patched' }, 'PATCH'));
      const traits = [{ trait_type: 'reasoning', datasets: [{ dataset_id: first, percentage: 100 }] }, { trait_type: 'general_tools', datasets: [{ dataset_id: third, percentage: 70 }, { dataset_id: second, percentage: 30 }] }];
      const out = path.join(dataDir, 'plugins', 'training', 'outputs');
      const project = await (await bp.request(`${api}/projects/`, json({ name: 'kept', base_model: 'tiny-lm', output_directory: out, traits }))).json();
      expect((await bp.request(`${api}/config/`, json({ default_epochs: 7, auto_start_workers: false }, 'PATCH'))).status).toBe(200);
      const pool = await (await bp.request(`${api}/workers/`, json({ action: 'start', worker_count: 2 }))).json();
      const job = await (await bp.request(`${api}/jobs/`, json({ name: 'waits', dataset_id: first }))).json();
      await bp.request(`${api}/workers/`, json({ action: 'stop' }));
      await bp.request(`${api}/workers/`, json({ action: 'start', worker_count: 2 }));
      const slots = (await (await bp.request(`${api}/workers/`)).json()).workers.map((w: { id: string }) => w.id).sort();
      expect(slots).not.toEqual(pool.workers.map((w: { id: string }) => w.id).sort());
      await bp.request(`${api}/jobs/${job.id}/cancel`, { method: 'POST' });
      const kept = await (await bp.request(`${api}/datasets/?page_size=100`)).json();
      await bp.stop();

      bp = await startTestDaemon({ plugins: [trainingPlugin], dataDir, config });
      expect(await (await bp.request(`${api}/datasets/?page_size=100`)).json()).toEqual(kept);
      const again = await (await bp.request(`${api}/projects/${project.id}`)).json();
      expect(again.traits).toEqual(project.traits);
      expect(again).toMatchObject({ name: 'kept', status: 'pending', created_at: project.created_at });
      expect((await (await bp.request(`${api}/config/`)).json()).default_epochs).toBe(7);
      const restored = await (await bp.request(`${api}/workers/`)).json();
      expect(restored.workers.map((w: { id: string }) => w.id).sort()).toEqual(slots);
      expect(restored).toMatchObject({ active_workers: 2, idle_workers: 2 });
      expect(await (await bp.request(`${api}/jobs/${job.id}`)).json()).toMatchObject({ status: 'cancelled', name: 'waits' });
      // A deleted dataset's id is not handed out again, nor a job's.
      expect((await bp.request(`${api}/datasets/${kept.items[0].id}`, { method: 'DELETE' })).status).toBe(400);
      const fourth = await uploadArithCsv(bp.request);
      expect((await bp.request(`${api}/datasets/${fourth}`, { method: 'DELETE' })).status).toBe(204);
      await bp.stop();
      bp = await startTestDaemon({ plugins: [trainingPlugin], dataDir, config });
      expect(await uploadArithCsv(bp.request)).toBe(fourth + 1);
      const next = await (await bp.request(`${api}/jobs/`, json({ name: 'next', dataset_id: first }))).json();
      expect(next.id).toBe(`job-${Number(job.id.slice(4)) + 1}`);
    } finally {
      await bp.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
