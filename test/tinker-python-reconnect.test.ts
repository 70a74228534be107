/**
 * The Python bwp/1 worker's `BACKPLANE_WORKER_RECONNECT_MS` (workers/python/backplane_worker/
 * reconnect.py), as test/tinker-worker-reconnect.test.ts checks serveWorker's: spawned for real
 * with /usr/bin/python3, the daemon's end goes away while a train_job runs, a new listener comes
 * up on the same path, and the answer (with the progress sent meanwhile) reaches it through
 * `adopt`. Skipped when /usr/bin/python3 cannot `import torch`. The Outbox's bounded backlog is
 * checked on its own with a fake connection (stdlib only).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listenForWorker, type MethodResults, type WorkerConnection } from '../plugins/tinker/protocol/index.ts';
import { waitFor } from './helpers/wait-for.ts';

const PYTHON = '/usr/bin/python3';
const WORKERS_DIR = fileURLToPath(new URL('../workers/python', import.meta.url));
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const hasPython = spawnSync(PYTHON, ['-c', 'pass'], { stdio: 'ignore' }).status === 0;

/** Drives reconnect.Outbox (stdlib only) with a fake connection; prints what each connection got, as JSON. */
const outboxScript = `
import json
from backplane_worker import reconnect
reconnect.MAX_QUEUED_NOTIFICATIONS = 3

class Conn:
    def __init__(self): self.sent, self.up = [], True
    def send(self, m):
        if self.up: self.sent.append(m)
        return self.up

out = reconnect.Outbox(lambda: {"worker_id": "w"}, reconnect_ms=1000)
first = Conn()
out.attach(first)
out.owe(7, "train_job"); out.owe(8, "sample")
out.notify("progress", {"id": 7, "step": 1})
first.up = False
for step in range(2, 7):
    out.notify("progress", {"id": 7, "step": step})
out.answer(8, {"jsonrpc": "2.0", "id": 8, "result": {"n": 8}})
out.live("heartbeat", {})
reconnecting = out.detach()
second = Conn()
out.attach(second)
print(json.dumps({"reconnecting": reconnecting, "first": first.sent, "second": second.sent}))
`;

interface Spawned {
  connection: WorkerConnection;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

function spawnWorker(socketPath: string, env: Record<string, string>) {
  let output = '';
  const child = spawn(PYTHON, ['-m', 'backplane_worker'], {
    env: { ...process.env, PYTHONPATH: WORKERS_DIR, PYTHONDONTWRITEBYTECODE: '1', BACKPLANE_WORKER_SOCKET: socketPath, BACKPLANE_WORKER_ID: 'py-rc', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, output: () => output };
}

/** Spawns the Python worker with `env` and waits for its hello. */
async function start(socketPath: string, env: Record<string, string>): Promise<Spawned> {
  let spawned!: ReturnType<typeof spawnWorker>;
  const abort = new AbortController();
  const connection = await listenForWorker(socketPath, {
    signal: abort.signal,
    helloTimeoutMs: 60_000,
    onListening: () => {
      spawned = spawnWorker(socketPath, env);
      void spawned.exited.then(() => abort.abort());
    },
  }).catch((error: unknown) => {
    throw new Error(`python worker did not say hello: ${String(error)}\n${spawned?.output()}`);
  });
  return { connection, ...spawned };
}

describe.skipIf(!hasTorch)('python bwp/1 worker reconnect (BACKPLANE_WORKER_RECONNECT_MS)', () => {
  let dir: string;
  let socketPath: string;
  let dataset: string;
  const children: ChildProcess[] = [];
  const trainJob = (name: string, epochs: number) => ({
    job_id: name,
    spec: { training_type: 'qlora', base_model: 'tiny-lm', epochs, batch_size: 1, lora_r: 4, learning_rate: 0.01 },
    dataset_path: dataset,
    output_dir: path.join(dir, name),
  });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bwp-pyrc-'));
    socketPath = path.join(dir, 'w.sock');
    dataset = path.join(dir, 'rows.jsonl');
    await writeFile(dataset, Array.from({ length: 20 }, (_, i) => JSON.stringify({ text: `row ${i}: hello world ${i % 3}` })).join('\n'));
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function startTracked(env: Record<string, string>): Promise<Spawned> {
    const w = await start(socketPath, env);
    children.push(w.child);
    return w;
  }

  it('keeps training while the daemon is gone, says hello again with in_flight, and delivers the progress and the answer', async () => {
    const w = await startTracked({ BACKPLANE_WORKER_RECONNECT_MS: '60000', BACKPLANE_WORKER_HEARTBEAT_MS: '200' });
    const daemon1 = w.connection;
    expect(daemon1.hello!.in_flight).toBeUndefined();
    const progress1: number[] = [];
    const answer1 = daemon1.request('train_job', trainJob('rc1', 20), { onProgress: (p) => progress1.push(p.step) });
    answer1.catch(() => undefined);
    await waitFor(() => (progress1.length > 0 ? true : undefined));
    // The daemon goes away; the worker keeps training with nobody listening.
    daemon1.close('daemon killed');
    await expect(answer1).rejects.toMatchObject({ rpcCode: -32001 });
    await waitFor(() => (/connection lost with 1 request\(s\) owed/.test(w.output()) ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    // A restarted daemon listens on the same path: the worker finds it.
    const daemon2 = await listenForWorker(socketPath, { helloTimeoutMs: 30_000 });
    const inFlight = daemon2.hello!.in_flight!;
    expect(inFlight).toEqual([{ id: expect.anything(), method: 'train_job' }]);
    const heartbeat = new Promise<void>((resolve) => daemon2.once('heartbeat', () => resolve()));
    const progress2: number[] = [];
    const answer2 = await daemon2.adopt<'train_job'>(inFlight[0].id, { onProgress: (p) => progress2.push(p.step) });
    expect(answer2).toMatchObject({ model_path: path.join(dir, 'rc1'), steps: 400, files: expect.arrayContaining(['adapter.bwpt']) });
    // Progress kept while disconnected comes after what the first daemon saw, in order, up to the last step.
    expect(progress2.length).toBeGreaterThan(0);
    expect(Math.min(...progress2)).toBeGreaterThan(Math.max(...progress1));
    expect(progress2).toEqual([...progress2].sort((a, b) => a - b));
    expect(progress2.at(-1)).toBe(400);
    await heartbeat;
    // The new daemon's own requests do not collide with the adopted id.
    expect(await daemon2.request('ping', {})).toEqual({});
    expect(await daemon2.request('shutdown', { grace_ms: 2000 })).toEqual({});
    expect(await w.exited).toEqual({ code: 0, signal: null });
  });

  it('sends an answer written just before the connection was lost again (the daemon may have died unread)', async () => {
    const w = await startTracked({ BACKPLANE_WORKER_RECONNECT_MS: '60000' });
    const result: MethodResults['train_job'] = await w.connection.request('train_job', trainJob('rc2', 1));
    w.connection.close('daemon killed before it stored the result');
    const daemon2 = await listenForWorker(socketPath, { helloTimeoutMs: 30_000 });
    const owed = daemon2.hello!.in_flight!;
    expect(owed.map((r) => r.method)).toEqual(['train_job']);
    expect(await daemon2.adopt<'train_job'>(owed[0].id)).toEqual(result);
    await daemon2.request('shutdown', { grace_ms: 2000 });
    expect(await w.exited).toEqual({ code: 0, signal: null });
  });

  it('gives up after the reconnect window: the work is cancelled and the worker exits non-zero', async () => {
    const w = await startTracked({ BACKPLANE_WORKER_RECONNECT_MS: '500' });
    let seen = false;
    w.connection.request('train_job', trainJob('rc3', 100), { onProgress: () => (seen = true) }).catch(() => undefined);
    await waitFor(() => (seen ? true : undefined)).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${w.output()}`);
    });
    w.connection.close('daemon killed');
    const end = await w.exited;
    expect(end.code).not.toBe(0);
    expect(end.code).not.toBeNull();
    expect(w.output()).toMatch(/no daemon on .* within 500 ms/);
  });

  it('ends as without a reconnect window when nothing is owed an answer', async () => {
    const w = await startTracked({ BACKPLANE_WORKER_RECONNECT_MS: '60000' });
    expect(await w.connection.request('ping', {})).toEqual({});
    w.connection.close('daemon killed');
    expect((await w.exited).code).toBe(1);
  });

  it('refuses a BACKPLANE_WORKER_RECONNECT_MS that is not a number of milliseconds (exit 2)', async () => {
    for (const value of ['soon', '-5']) {
      const w = spawnWorker(path.join(dir, 'never.sock'), { BACKPLANE_WORKER_RECONNECT_MS: value });
      children.push(w.child);
      expect((await w.exited).code).toBe(2);
      expect(w.output()).toContain(`BACKPLANE_WORKER_RECONNECT_MS must be a number of milliseconds (got ${value})`);
    }
  });
});

describe.skipIf(!hasPython)('python worker Outbox (reconnect.py)', () => {
  it('keeps answers and the newest notifications while disconnected, then says hello with in_flight and delivers them', () => {
    const run = spawnSync(PYTHON, ['-c', outboxScript], { env: { ...process.env, PYTHONPATH: WORKERS_DIR, PYTHONDONTWRITEBYTECODE: '1' }, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const got = JSON.parse(run.stdout);
    expect(got.reconnecting).toBe(true);
    expect(got.first.map((m: { method?: string }) => m.method)).toEqual(['hello', 'progress']);
    expect(got.first[0].params.in_flight).toBeUndefined();
    expect(got.second).toEqual([
      { jsonrpc: '2.0', method: 'hello', params: { worker_id: 'w', in_flight: [{ id: 7, method: 'train_job' }, { id: 8, method: 'sample' }] } },
      // Over the bound the oldest notifications went (steps 2 and 3); the answer stayed.
      { jsonrpc: '2.0', method: 'progress', params: { id: 7, step: 4 } },
      { jsonrpc: '2.0', method: 'progress', params: { id: 7, step: 5 } },
      { jsonrpc: '2.0', method: 'progress', params: { id: 7, step: 6 } },
      { jsonrpc: '2.0', id: 8, result: { n: 8 } },
    ]);
  });
});
