import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { locateLlamaServer } from './fixtures/llama/llama-server-bin.ts';
import { alive, createLlamaModelRoot, freePort, llamaClient } from './fixtures/llama/llama-test-kit.ts';
import { spawnDaemon, type DaemonProcess } from './helpers/daemon-process.ts';

const llamaServer = await locateLlamaServer();

describe.skipIf(llamaServer.skip !== undefined)(`llama-cpp across a daemon restart (real processes)${llamaServer.skip ? ` (skipped: ${llamaServer.skip})` : ''}`, () => {
  let models: Awaited<ReturnType<typeof createLlamaModelRoot>>;
  let dataDir: string;
  let daemon: DaemonProcess | undefined;
  const pids: number[] = [];

  const config = () => ({
    plugins: {
      'nvidia-smi': { enabled: false },
      'vllm-podman': { enabled: false },
      ilab: { enabled: false },
      'llama-cpp': {
        llamaServerPath: llamaServer.path,
        modelRoots: [models.root],
        healthIntervalMs: 200,
        restart: { initialDelayMs: 200, maxDelayMs: 1_000, maxRestarts: 3 },
        defaults: { ctxSize: 512, threads: 1 },
      },
    },
  });
  const boot = async () => {
    daemon = await spawnDaemon(dataDir, config());
    return llamaClient(daemon.gql.bind(daemon));
  };
  const kill = async (signal: NodeJS.Signals) => {
    daemon!.process.kill(signal);
    await daemon!.process;
    daemon = undefined;
  };

  beforeAll(async () => {
    models = await createLlamaModelRoot();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-llama-restart-'));
  });

  afterAll(async () => {
    if (daemon) {
      await daemon.gql('mutation { stopAllLlamaInstances(force: true) { name } }').catch(() => undefined);
      await kill('SIGTERM');
    }
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
    await models?.cleanup();
  });

  test('SIGKILL of the daemon while an instance runs: the next daemon re-adopts it with the same pid and it keeps serving', async () => {
    let llama = await boot();
    const port = await freePort();
    expect((await llama.create({ name: 'survivor', modelPath: models.model, port })).errors).toBeUndefined();
    await llama.mutate('startLlamaInstance', 'survivor');
    const before = await llama.until('survivor', (i) => i.status === 'running' && i.pid !== null);
    pids.push(before.pid);

    await kill('SIGKILL');
    expect(alive(before.pid)).toBe(true);

    llama = await boot();
    const after = await llama.instance('survivor');
    expect(after).toMatchObject({ status: 'running', pid: before.pid, jobId: before.jobId, port, restartCount: 0 });
    const completion = await fetch(`http://127.0.0.1:${port}/completion`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Hi', n_predict: 4, temperature: 0 }) });
    expect(((await completion.json()) as { tokens_predicted: number }).tokens_predicted).toBe(4);

    // The adopted run is supervised like any other: a crash is seen and restarted.
    process.kill(before.pid, 'SIGKILL');
    const restarted = await llama.until('survivor', (i) => i.status === 'running' && i.pid !== null && i.pid !== before.pid);
    pids.push(restarted.pid);
    expect(restarted.restartCount).toBe(1);
    expect(restarted.jobId).not.toBe(before.jobId);
  });

  test('a run that ended while the daemon was down is settled and restarted per its policy; a stopped instance stays stopped', async () => {
    let llama = await llamaClient(daemon!.gql.bind(daemon));
    const current = await llama.until('survivor', (i) => i.status === 'running' && i.pid !== null);
    expect((await llama.create({ name: 'idle', modelPath: models.model, port: await freePort() })).errors).toBeUndefined();
    await kill('SIGTERM');
    process.kill(current.pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 100));

    llama = await boot();
    const back = await llama.until('survivor', (i) => i.status === 'running' && i.pid !== null && i.pid !== current.pid);
    pids.push(back.pid);
    expect(back.restartCount).toBe(2);
    expect((await llama.instance('idle')).status).toBe('stopped');
    const stopped = (await llama.mutate('stopLlamaInstance', 'survivor')).data.stopLlamaInstance;
    expect(stopped.status).toBe('stopped');
    expect(alive(back.pid)).toBe(false);
  });
});
