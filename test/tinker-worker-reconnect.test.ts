import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancelledError, listenForWorker, serveWorker, type MethodResults, type Progress, type WorkerServer } from '../plugins/tinker/protocol/index.ts';

/**
 * serveWorker's opt-in `reconnect` over real Unix sockets: the daemon's end goes away while a
 * request runs, a new listener comes up on the same path, and the answer (with the progress
 * sent meanwhile) reaches it through `adopt`.
 */
const hello = {
  backend: 'tiny' as const,
  devices: [],
  capabilities: { losses: ['cross_entropy'], sampling: true, lora: true, proto: false, train_job: true, introspection: false },
  models: ['tiny-lm'],
};
const params = { job_id: 'job-1', spec: {}, dataset_path: '/nowhere', output_dir: '/nowhere' };
const result: MethodResults['train_job'] = { model_path: '/out', final_loss: 0.5, steps: 4, files: ['adapter.bwpt'] };

/** A train_job handler the test drives step by step. */
function steppedJob() {
  const gates: Array<() => void> = [];
  let aborted = false;
  const next = () => new Promise<void>((resolve) => gates.push(resolve));
  return {
    release: () => gates.shift()?.(),
    get waiting() {
      return gates.length;
    },
    get aborted() {
      return aborted;
    },
    handler: async (_p: unknown, ctx: { signal: AbortSignal; progress: (p: Omit<Progress, 'id'>) => void }) => {
      ctx.signal.addEventListener('abort', () => (aborted = true));
      for (let step = 1; step <= 4; step++) {
        await Promise.race([next(), new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(cancelledError())))]);
        ctx.progress({ step, total_steps: 4, epoch: 1, loss: 2 / step });
      }
      return result;
    },
  };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

describe('serveWorker reconnect', () => {
  let dir: string;
  let socketPath: string;
  let worker: WorkerServer | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bwp-rc-'));
    socketPath = path.join(dir, 'w.sock');
  });
  afterEach(async () => {
    worker?.close();
    await worker?.done;
    worker = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps working while the daemon is gone, says hello again with in_flight, and delivers the progress and the answer', async () => {
    const job = steppedJob();
    const first = listenForWorker(socketPath);
    worker = await serveWorker({ socketPath, hello, methods: { train_job: job.handler as never }, reconnect: { timeoutMs: 10_000 } });
    const daemon1 = await first;
    const progress1: number[] = [];
    const answer1 = daemon1.request('train_job', params, { onProgress: (p) => progress1.push(p.step) });
    answer1.catch(() => undefined);
    await until(() => job.waiting === 1);
    job.release();
    await until(() => progress1.length === 1);
    // The daemon goes away; the worker keeps training with nobody listening.
    daemon1.close('daemon killed');
    await expect(answer1).rejects.toMatchObject({ rpcCode: -32001 });
    for (let i = 0; i < 3; i++) {
      await until(() => job.waiting === 1);
      job.release();
    }
    expect(job.aborted).toBe(false);
    // A restarted daemon listens on the same path: the worker finds it.
    const daemon2 = await listenForWorker(socketPath, { helloTimeoutMs: 10_000 });
    const inFlight = daemon2.hello!.in_flight!;
    expect(inFlight).toEqual([{ id: expect.anything(), method: 'train_job' }]);
    const progress2: Array<{ step: number; loss: number | null | undefined }> = [];
    const answer2 = await daemon2.adopt<'train_job'>(inFlight[0].id, { onProgress: (p) => progress2.push({ step: p.step, loss: p.loss }) });
    expect(answer2).toEqual(result);
    expect(progress2).toEqual([
      { step: 2, loss: 1 },
      { step: 3, loss: 2 / 3 },
      { step: 4, loss: 0.5 },
    ]);
    // The new daemon's own requests do not collide with the adopted id.
    expect(await daemon2.request('ping', {})).toEqual({});
    await daemon2.request('shutdown', { grace_ms: 100 });
    expect(await worker.done).toMatchObject({ reason: 'shutdown' });
  });

  it('sends an answer written just before the connection was lost again (the daemon may have died unread)', async () => {
    const job = steppedJob();
    const first = listenForWorker(socketPath);
    worker = await serveWorker({ socketPath, hello, methods: { train_job: job.handler as never }, reconnect: { timeoutMs: 10_000 } });
    const daemon1 = await first;
    const answer1 = daemon1.request('train_job', params);
    for (let i = 0; i < 4; i++) {
      await until(() => job.waiting === 1);
      job.release();
    }
    expect(await answer1).toEqual(result);
    daemon1.close('daemon killed before it stored the result');
    const daemon2 = await listenForWorker(socketPath, { helloTimeoutMs: 10_000 });
    const owed = daemon2.hello!.in_flight!;
    expect(owed.map((r) => r.method)).toEqual(['train_job']);
    expect(await daemon2.adopt<'train_job'>(owed[0].id)).toEqual(result);
    await daemon2.request('shutdown', { grace_ms: 100 });
    expect(await worker.done).toMatchObject({ reason: 'shutdown' });
  });

  it('gives up after timeoutMs: the work in flight is cancelled and the worker ends disconnected', async () => {
    const job = steppedJob();
    const first = listenForWorker(socketPath);
    worker = await serveWorker({ socketPath, hello, methods: { train_job: job.handler as never }, reconnect: { timeoutMs: 300 } });
    const daemon = await first;
    daemon.request('train_job', params).catch(() => undefined);
    await until(() => job.waiting === 1);
    daemon.close('daemon killed');
    const end = await worker.done;
    expect(end.reason).toBe('disconnected');
    expect(end.message).toMatch(/within 300 ms/);
    expect(job.aborted).toBe(true);
  });

  it('is off by default: a lost connection ends the worker and cancels what it was doing', async () => {
    const job = steppedJob();
    const first = listenForWorker(socketPath);
    worker = await serveWorker({ socketPath, hello, methods: { train_job: job.handler as never } });
    const daemon = await first;
    expect(daemon.hello!.in_flight).toBeUndefined();
    daemon.request('train_job', params).catch(() => undefined);
    await until(() => job.waiting === 1);
    daemon.close('daemon killed');
    expect((await worker.done).reason).toBe('disconnected');
    expect(job.aborted).toBe(true);
  });
});
