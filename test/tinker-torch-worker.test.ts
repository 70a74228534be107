/**
 * The Python bwp/1 worker (workers/python/backplane_worker) on its own, spawned for real with
 * /usr/bin/python3 (Debian's python3-torch) over a real Unix socket, driven by the daemon-side
 * helpers of plugins/tinker/protocol: hello, ping, unknown methods, bad params, progress and
 * cancel of a train_job, the HF path's missing-library error, shutdown, and what the daemon
 * sees when it SIGKILLs the worker (and what the worker does when the daemon goes away).
 *
 * Runs when /usr/bin/python3 can `import torch`; in CI (`$CI` set) a missing torch FAILS.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listenForWorker, RpcErrorCodes, WorkerRpcError, type Progress, type WorkerConnection } from '../plugins/tinker/protocol/index.ts';
import { waitFor } from './helpers/wait-for.ts';

const PYTHON = '/usr/bin/python3';
const WORKERS_DIR = fileURLToPath(new URL('../workers/python', import.meta.url));
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

interface Spawned {
  connection: WorkerConnection;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

/** Spawns the Python worker and waits for its hello. */
async function spawnPythonWorker(dir: string, name: string, env: Record<string, string> = {}): Promise<Spawned> {
  const socketPath = path.join(dir, `${name}.sock`);
  let child!: ChildProcess;
  let stderr = '';
  const abort = new AbortController();
  let exited!: Spawned['exited'];
  const connection = await listenForWorker(socketPath, {
    signal: abort.signal,
    helloTimeoutMs: 30_000,
    onListening: () => {
      child = spawn(PYTHON, ['-m', 'backplane_worker'], {
        env: { ...process.env, PYTHONPATH: WORKERS_DIR, PYTHONDONTWRITEBYTECODE: '1', BACKPLANE_WORKER_SOCKET: socketPath, BACKPLANE_WORKER_ID: name, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (c: Buffer) => (stderr += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      void exited.then(() => abort.abort());
    },
  }).catch((error: unknown) => {
    throw new Error(`python worker did not say hello: ${String(error)}\n${stderr}`);
  });
  return { connection, child, exited, stderr: () => stderr };
}

async function rejection(promise: Promise<unknown>): Promise<WorkerRpcError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkerRpcError);
  return error as WorkerRpcError;
}

const lora = { rank: 4, train_mlp: true, train_attn: true, train_unembed: true };

describe.skipIf(!hasTorch && !process.env.CI)('python bwp/1 worker (torch)', () => {
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    // In CI the cross-checks must run: fail loudly instead of skipping when torch is missing.
    expect(hasTorch, `${PYTHON} cannot import torch: run scripts/install-test-deps.sh (python3-torch)`).toBe(true);
    dir = await mkdtemp(path.join(tmpdir(), 'bwp-py-'));
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function start(name: string, env?: Record<string, string>): Promise<Spawned> {
    const w = await spawnPythonWorker(dir, name, env);
    children.push(w.child);
    return w;
  }

  it('says a valid hello, answers ping, heartbeats, and rejects unknown methods and bad params', async () => {
    const w = await start('hello', { BACKPLANE_WORKER_HEARTBEAT_MS: '200' });
    const { connection } = w;
    expect(connection.hello).toMatchObject({
      protocol: 'bwp/1',
      worker_id: 'hello',
      pid: w.child.pid,
      backend: 'torch',
      capabilities: { sampling: true, lora: true, proto: false, train_job: true, introspection: true },
      models: ['tiny-lm'],
    });
    expect(connection.hello!.capabilities.losses).toEqual(['cross_entropy', 'importance_sampling', 'ppo', 'cispo', 'dro']);
    expect(Array.isArray(connection.hello!.devices)).toBe(true);
    await waitFor(() => new Promise<true>((resolve) => connection.once('heartbeat', () => resolve(true))));
    expect(await connection.request('ping', {})).toEqual({});

    const unknown = await rejection(connection.request('no_such_method', {}));
    expect(unknown).toMatchObject({ rpcCode: RpcErrorCodes.methodNotFound, category: 'user' });
    expect(unknown.message).toContain('no_such_method');

    const noModel = await rejection(connection.request('get_weights', { model_id: 'ghost' }));
    expect(noModel).toMatchObject({ rpcCode: RpcErrorCodes.invalidParams, category: 'user' });
    expect(noModel.message).toContain('ghost');

    const badLora = await rejection(connection.request('create_model', { model_id: 'm', base_model: 'tiny-lm' } as never));
    expect(badLora).toMatchObject({ rpcCode: RpcErrorCodes.invalidParams, category: 'user' });
    expect(badLora.message).toContain('lora_config');

    const badBase = await rejection(connection.request('create_model', { model_id: 'm', base_model: 'gpt-9', lora_config: lora }));
    expect(badBase.message).toContain('gpt-9');

    // The model still works after the errors: create, forward, and a mis-sized datum is refused.
    expect(await connection.request('create_model', { model_id: 'm', base_model: 'tiny-lm', lora_config: lora })).toMatchObject({
      model_id: 'm',
      parameters: 25_139 + 4 * (259 + 16) + 4 * (64 + 64) + 4 * (259 + 64),
    });
    const mis = await rejection(
      connection.request('forward', {
        model_id: 'm',
        data: [{ model_input: { chunks: [{ type: 'encoded_text', tokens: [1, 2, 3] }] }, loss_fn_inputs: { target_tokens: { data: [2, 3], dtype: 'int64' } } }],
        loss_fn: 'cross_entropy',
      }),
    );
    expect(mis.message).toContain('target_tokens has 2 values');
    const rl = await rejection(
      connection.request('forward', {
        model_id: 'm',
        data: [{ model_input: { chunks: [{ type: 'encoded_text', tokens: [1, 2] }] }, loss_fn_inputs: { target_tokens: { data: [2, 3], dtype: 'int64' } } }],
        loss_fn: 'ppo',
      }),
    );
    expect(rl.message).toContain('logprobs is required');
    connection.close();
  });

  it('round-trips a training checkpoint, streams train_job progress, validates its output, and cancels a train_job', async () => {
    const { connection } = await start('train');
    await connection.request('create_model', { model_id: 'a', base_model: 'tiny-lm', lora_config: { ...lora, seed: 3 } });
    const datum = {
      model_input: { chunks: [{ type: 'encoded_text' as const, tokens: [256, 104, 105, 33] }] },
      loss_fn_inputs: { target_tokens: { data: [104, 105, 33, 257], dtype: 'int64' as const } },
    };
    await connection.request('forward_backward', { model_id: 'a', data: [datum], loss_fn: 'cross_entropy' });
    await connection.request('optim_step', { model_id: 'a', adam_params: { learning_rate: 0.01 } });
    const ckpt = path.join(dir, 'a.bwpt');
    const saved = await connection.request('save_weights', { model_id: 'a', path: ckpt, kind: 'training' });
    expect(saved.bytes).toBeGreaterThan(4 * 25_139);
    await connection.request('create_model', { model_id: 'b', base_model: 'tiny-lm', lora_config: lora, checkpoint_path: ckpt });
    const [wa, wb] = await Promise.all([connection.request('get_weights', { model_id: 'a' }), connection.request('get_weights', { model_id: 'b' })]);
    expect(wb).toEqual(wa);
    expect(await connection.request('get_info', { model_id: 'b' })).toMatchObject({ step: 1, lora_rank: 4 });

    // A small tiny-lm train_job: one progress per step, the TS worker's output layout.
    const dataset = path.join(dir, 'rows.jsonl');
    await writeFile(dataset, ['hello world', 'hello there', 'general kenobi', 'a b c d'].map((text) => JSON.stringify({ text })).join('\n'));
    const progress: Progress[] = [];
    const logs: string[] = [];
    connection.on('log', (log) => logs.push(`${log.level}: ${log.msg}`));
    const out = path.join(dir, 'job1');
    const result = await connection.request(
      'train_job',
      { job_id: 'job1', spec: { training_type: 'qlora', base_model: 'tiny-lm', epochs: 2, batch_size: 2, lora_r: 4, learning_rate: 0.01 }, dataset_path: dataset, output_dir: out },
      { onProgress: (p) => progress.push(p) },
    );
    expect(result).toMatchObject({ model_path: out, steps: 4, files: ['adapter.bwpt', 'training_config.json', 'tokenizer.json', 'tokenizer_config.json'] });
    expect(progress.map((p) => [p.step, p.total_steps, p.epoch])).toEqual([
      [1, 4, 1],
      [2, 4, 1],
      [3, 4, 2],
      [4, 4, 2],
    ]);
    expect(progress.every((p) => typeof p.loss === 'number' && Number.isFinite(p.loss))).toBe(true);
    expect(result.final_loss).toBe(progress[3].loss);
    expect(logs).toContainEqual(expect.stringMatching(/^info: train_job job1: qlora on tiny-lm \(rank 4\), 4 rows, 4 steps/));
    const config = JSON.parse(await readFile(path.join(out, 'training_config.json'), 'utf8'));
    expect(config).toMatchObject({ format: 'bwp-train-output/1', training_type: 'qlora', steps: 4, model_config: { rank: 4 } });
    const valid = await connection.request('validate_output', { path: out });
    expect(valid).toMatchObject({ ok: true, model_name: 'tiny-lm', parameters: config.parameters });
    expect(typeof valid.sample_text).toBe('string');
    expect(await connection.request('validate_output', { path: path.join(dir, 'nowhere') })).toMatchObject({ ok: false });

    // Cancel a long job by the id its progress names: the worker answers it with -32800.
    const long = Array.from({ length: 400 }, (_, i) => JSON.stringify({ text: `row ${i} `.repeat(20) })).join('\n');
    await writeFile(path.join(dir, 'long.jsonl'), long);
    let cancelled = false;
    const job = connection.request(
      'train_job',
      { job_id: 'job2', spec: { training_type: 'standard', base_model: 'tiny-lm', epochs: 50, batch_size: 1 }, dataset_path: path.join(dir, 'long.jsonl'), output_dir: path.join(dir, 'job2') },
      {
        onProgress: (p) => {
          if (cancelled) return;
          cancelled = true;
          void connection.request('cancel', { id: p.id });
        },
      },
    );
    const error = await rejection(job);
    expect(error.rpcCode).toBe(RpcErrorCodes.cancelled);
    expect(error.message).toContain('job2');
    expect(await connection.request('ping', {})).toEqual({});
    connection.close();
  });

  it('fails a Hugging Face train_job with a user error naming exactly the missing libraries', async () => {
    const check = spawnSync(PYTHON, ['-m', 'backplane_worker', '--check'], { env: { ...process.env, PYTHONPATH: WORKERS_DIR, PYTHONDONTWRITEBYTECODE: '1' }, encoding: 'utf8' });
    expect(check.status).toBe(0);
    const report = JSON.parse(check.stdout) as { libraries: Record<string, { present: boolean }>; training_types: Record<string, { missing: string[] }> };
    expect(report.libraries.torch.present).toBe(true);
    const missing = report.training_types.qlora.missing;
    const { connection } = await start('hf');
    await writeFile(path.join(dir, 'hf.jsonl'), JSON.stringify({ instruction: 'Say hi', output: 'hi' }));
    const job = connection.request('train_job', {
      job_id: 'hf1',
      spec: { training_type: 'qlora', base_model: 'Qwen/Qwen2.5-0.5B-Instruct' },
      dataset_path: path.join(dir, 'hf.jsonl'),
      output_dir: path.join(dir, 'hf1'),
    });
    if (missing.length === 0) {
      // A host with the whole HF stack would try to download the model; not what this test is for.
      await job.catch(() => {});
      return;
    }
    const error = await rejection(job);
    expect(error).toMatchObject({ rpcCode: RpcErrorCodes.invalidParams, category: 'user', data: { missing } });
    expect(error.message).toContain(missing.join(', '));
    connection.close();
  });

  it('cancels in-flight work on shutdown and exits 0, and exits on its own when the daemon closes the socket', async () => {
    const a = await start('shut');
    await writeFile(path.join(dir, 's.jsonl'), Array.from({ length: 200 }, (_, i) => JSON.stringify({ text: `s${i} `.repeat(30) })).join('\n'));
    let shutdown: Promise<unknown> | undefined;
    const job = a.connection.request(
      'train_job',
      { job_id: 's', spec: { training_type: 'standard', base_model: 'tiny-lm', epochs: 50, batch_size: 1 }, dataset_path: path.join(dir, 's.jsonl'), output_dir: path.join(dir, 's') },
      { onProgress: () => void (shutdown ??= a.connection.request('shutdown', { grace_ms: 5000 })) },
    );
    expect((await rejection(job)).rpcCode).toBe(RpcErrorCodes.cancelled);
    expect(await shutdown).toEqual({});
    expect(await a.exited).toEqual({ code: 0, signal: null });

    const b = await start('orphan');
    b.connection.close();
    expect((await b.exited).code).toBe(1);
  });

  it('answers a garbage line with -32700, then closes and exits 1', async () => {
    const socketPath = path.join(dir, 'raw.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const child = spawn(PYTHON, ['-m', 'backplane_worker'], { env: { ...process.env, PYTHONPATH: WORKERS_DIR, PYTHONDONTWRITEBYTECODE: '1', BACKPLANE_WORKER_SOCKET: socketPath }, stdio: 'ignore' });
    children.push(child);
    const exited = once(child, 'exit');
    const [socket] = (await once(server, 'connection')) as [Socket];
    server.close();
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('error', () => {});
    while (!text.includes('\n')) await once(socket, 'data');
    expect(JSON.parse(text.split('\n')[0])).toMatchObject({ method: 'hello', params: { backend: 'torch' } });
    socket.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\nthis is not json\n');
    const [code] = await exited;
    expect(code).toBe(1);
    const answers = text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => 'id' in m);
    expect(answers).toEqual([
      { jsonrpc: '2.0', id: 1, result: {} },
      { jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.stringMatching(/line is not JSON.*closing/), data: { category: 'server', retryable: false } } },
    ]);
  });

  it('fails pending requests with UNAVAILABLE when the worker is SIGKILLed', async () => {
    const w = await start('killed');
    await writeFile(path.join(dir, 'k.jsonl'), Array.from({ length: 200 }, (_, i) => JSON.stringify({ text: `k${i} `.repeat(30) })).join('\n'));
    let killed = false;
    const job = w.connection.request(
      'train_job',
      { job_id: 'k', spec: { training_type: 'standard', base_model: 'tiny-lm', epochs: 50, batch_size: 1 }, dataset_path: path.join(dir, 'k.jsonl'), output_dir: path.join(dir, 'k') },
      {
        onProgress: () => {
          if (!killed) w.child.kill('SIGKILL');
          killed = true;
        },
      },
    );
    const error = await rejection(job);
    expect(error).toMatchObject({ rpcCode: RpcErrorCodes.connectionClosed, code: 'UNAVAILABLE' });
    expect((await w.connection.closed).rpcCode).toBe(RpcErrorCodes.connectionClosed);
    expect(await w.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(w.connection.isClosed).toBe(true);
  });
});
