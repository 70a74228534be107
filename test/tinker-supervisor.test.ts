import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../core/services/logger-service.ts';
import type { GpuService } from '../core/plugin-api.ts';
import { WorkerProcess } from '../plugins/tinker/worker-process.ts';

/** The worker supervisor against a stand-in worker process (real process, real socket, real bwp/1). */
const fixture = fileURLToPath(new URL('./fixtures/tinker/silent-worker.ts', import.meta.url));
const noGpus = { acquire: async () => { throw new Error('no GPUs'); }, release: async () => undefined } as unknown as GpuService;

describe('tinker WorkerProcess supervision', () => {
  let socketDir: string;
  beforeAll(async () => {
    socketDir = await mkdtemp(path.join(os.tmpdir(), 'bp-tk-sup-'));
  });
  afterAll(() => rm(socketDir, { recursive: true, force: true }));

  const start = (id: string, env: Record<string, string>, heartbeatTimeoutMs = 30_000) =>
    new WorkerProcess({ id, command: process.execPath, args: [fixture], env, socketDir, logger: createLogger({ level: 'silent' }), gpus: noGpus, gpuCount: 0, startTimeoutMs: 10_000, heartbeatTimeoutMs, restartInitialMs: 50, restartMaxMs: 400, shutdownGraceMs: 1_000 });

  test('a worker that misses heartbeats is killed and restarted; stop() ends it for good', async () => {
    const worker = start('silent', { SILENT: '1' }, 300);
    await worker.ready();
    expect(worker.status).toBe('ready');
    expect(worker.hello).toMatchObject({ protocol: 'bwp/1', worker_id: 'silent', backend: 'tiny' });
    const firstPid = worker.pid!;
    expect(await worker.request('ping', {})).toEqual({});
    const reason = await new Promise<string>((resolve) => worker.once('crash', resolve));
    expect(reason).toMatch(/sent no heartbeat for 300 ms/);
    await new Promise<void>((resolve) => worker.once('restarted', () => resolve()));
    expect(worker.restarts).toBe(1);
    expect(worker.pid).not.toBe(firstPid);
    expect(() => process.kill(firstPid, 0)).toThrow();
    await worker.stop();
    expect(worker.status).toBe('stopped');
    await expect(worker.request('ping', {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  test('a worker that exits before hello fails its start with the exit status', async () => {
    const worker = start('broken', { EXIT_AT_ONCE: '1' });
    await expect(worker.ready()).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/did not start: worker exited before saying hello \(exit code 3\)/) });
    await worker.stop();
  });

  test('a SIGKILLed worker comes back, pending requests rejected', async () => {
    const worker = start('killed', {});
    await worker.ready();
    const crashed = new Promise<string>((resolve) => worker.once('crash', resolve));
    worker.kill('SIGKILL');
    expect(await crashed).toMatch(/exited \(signal SIGKILL\)|closed its connection/);
    await worker.ready();
    expect(await worker.request('ping', {})).toEqual({});
    await worker.stop();
  });
});
