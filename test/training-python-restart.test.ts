import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnDaemon } from './helpers/daemon-process.ts';
import { alive } from './helpers/process-alive.ts';
import { json, trainingApi as api, uploadArithCsv } from './helpers/training.ts';
import { waitFor } from './helpers/wait-for.ts';

/**
 * test/training-jobs.test.ts's "a daemon killed mid-job" re-adoption, on the PyTorch worker
 * (`worker: python`, tiny-lm): the trainer keeps training through a `kill -9` of the daemon and
 * the restarted daemon takes its progress and result. Skipped without Debian's python3-torch.
 */
const haveTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!haveTorch)('a daemon killed mid-job on the PyTorch worker (worker: python)', () => {
  it('re-adopts the trainer after the restart: the job goes on in the same process and completes with its loss falling', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-train-pyadopt-'));
    const config = {
      plugins: { 'nvidia-smi': { enabled: false }, ilab: { enabled: false }, 'vllm-podman': { enabled: false }, 'llama-cpp': { enabled: false }, training: { worker: 'python' } },
      jobs: { killGraceSeconds: 2 },
    };
    let daemon = await spawnDaemon(dataDir, config);
    try {
      const request = (p: string, init?: RequestInit) => fetch(`${daemon.url}${p}`, init);
      const datasetId = await uploadArithCsv(request);
      await request(`${api}/workers/`, json({ action: 'start', worker_count: 1 }));
      const body = { name: 'py survivor', dataset_id: datasetId, training_type: 'qlora', model_name: 'tiny-lm', epochs: 25, batch_size: 1, learning_rate: 0.01 };
      const id = (await (await request(`${api}/jobs/`, json(body))).json()).id;
      const before = await waitFor(
        async () => {
          const j = await (await request(`${api}/jobs/${id}`)).json();
          if (j.status === 'failed') throw new Error(`the job failed: ${j.error_message}`);
          return j.status === 'running' && j.progress > 2 && j.current_loss !== null ? j : undefined;
        },
        { timeoutMs: 60_000 },
      );
      const pid = (await daemon.gql(`{ job(id: "${before.core_job_id}") { pid } }`)).data!.job.pid as number;
      daemon.process.kill('SIGKILL');
      await daemon.process;
      expect(alive(pid)).toBe(true);
      daemon = await spawnDaemon(dataDir, config);
      const after = await waitFor(
        async () => {
          const j = await (await fetch(`${daemon.url}${api}/jobs/${id}`)).json();
          return j.status !== 'running' ? j : undefined;
        },
        { timeoutMs: 120_000 },
      );
      expect(after, after.error_message ?? '').toMatchObject({ status: 'completed', progress: 100, error_message: null, core_job_id: before.core_job_id });
      expect(after.log).toMatch(/Re-adopted worker .* its training goes on/);
      expect(after.current_loss).toBeLessThan(before.current_loss);
      expect(existsSync(path.join(after.model_path, 'adapter.bwpt'))).toBe(true);
      const workerLog = (await daemon.gql(`{ trainingJob(id: "${id}") { workerLog(tail: 200) } }`)).data.trainingJob.workerLog as string;
      expect(workerLog).toMatch(/reconnected to /);
      await waitFor(() => (alive(pid) ? undefined : true));
      expect((await daemon.gql(`{ job(id: "${before.core_job_id}") { status } }`)).data!.job.status).toBe('succeeded');
    } finally {
      daemon.process.kill('SIGTERM');
      await daemon.process;
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
