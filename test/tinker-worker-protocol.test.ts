// The real TinyLM worker process over a real Unix socket, driven through the daemon-side
// protocol module (WorkerConnection / listenForWorker) and, for framing errors, a raw socket.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listenForWorker, RpcErrorCodes, type MethodParamsInput, type Progress, type WorkerConnection } from '../plugins/tinker/protocol/index.ts';

const workerEntry = fileURLToPath(new URL('../plugins/tinker/worker/tiny-worker.ts', import.meta.url));
const bytes = (text: string) => [...Buffer.from(text)];

let dir: string;
let child: ChildProcess | undefined;
let connection: WorkerConnection | undefined;
let stderr = '';

function spawnWorker(socketPath: string): ChildProcess {
  const proc = spawn(process.execPath, [workerEntry], {
    env: { ...process.env, BACKPLANE_WORKER_SOCKET: socketPath, BACKPLANE_WORKER_ID: 'tiny-test' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child = proc;
  return proc;
}

async function startWorker(): Promise<WorkerConnection> {
  const socketPath = path.join(dir, 'w.sock');
  connection = await listenForWorker(socketPath, { helloTimeoutMs: 20_000, onListening: () => spawnWorker(socketPath) });
  return connection;
}

async function writeDataset(name: string, rows: unknown[]): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bwp-w-'));
  stderr = '';
});

afterEach(async () => {
  connection?.close();
  connection = undefined;
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  child = undefined;
  await rm(dir, { recursive: true, force: true });
});

const datum = (text: string) => {
  const seq = bytes(text);
  return {
    model_input: { chunks: [{ type: 'encoded_text' as const, tokens: seq.slice(0, -1) }] },
    loss_fn_inputs: { target_tokens: { data: seq.slice(1), dtype: 'int64' as const, shape: [seq.length - 1] } },
  };
};

describe('tiny worker over bwp/1', () => {
  it('says hello, trains a LoRA model whose loss falls over 20 steps, and serves the model methods', async () => {
    const worker = await startWorker();
    expect(worker.hello).toMatchObject({
      protocol: 'bwp/1',
      worker_id: 'tiny-test',
      pid: child!.pid,
      backend: 'tiny',
      capabilities: { sampling: true, lora: true, train_job: true, introspection: true },
      models: ['tiny-lm'],
    });
    expect(worker.hello!.capabilities.losses).toEqual(['cross_entropy', 'importance_sampling', 'ppo', 'cispo', 'dro']);

    const created = await worker.request('create_model', { model_id: 'm1', base_model: 'tiny-lm', lora_config: { rank: 4 }, seed: 1 });
    expect(created.trainable_parameters).toBeLessThan(created.parameters);
    expect(await worker.request('tokenizer_info', { model_id: 'm1' })).toEqual({ vocab_size: 259, bos_token_id: 256, eos_token_id: 257, pad_token_id: 258, kind: 'byte' });
    const info = await worker.request('get_info', { model_id: 'm1' });
    expect(info).toMatchObject({ model_data: { model_name: 'tiny-lm' }, lora_rank: 4 });
    expect((await stat(path.join(info.model_data.tokenizer_id!, 'tokenizer.json'))).isFile()).toBe(true);

    const data = [datum('hello world, hello tiny world'), datum('the quick brown fox')];
    const losses: number[] = [];
    for (let seq = 0; seq < 40; seq += 2) {
      // Sent without awaiting: the worker must keep one model's ops in arrival order.
      const fb = worker.request('forward_backward', { model_id: 'm1', seq_id: seq, data, loss_fn: 'cross_entropy' });
      const step = worker.request('optim_step', { model_id: 'm1', seq_id: seq + 1, adam_params: { learning_rate: 0.02 } });
      const [out, stepped] = await Promise.all([fb, step]);
      losses.push(out.metrics['loss:sum']);
      expect(out.loss_fn_outputs[0].logprobs).toMatchObject({ dtype: 'float32', shape: [28] });
      expect(stepped.metrics['step:max']).toBe(seq / 2 + 1);
    }
    expect(losses[19]).toBeLessThan(losses[0] * 0.8);

    // forward leaves gradients alone; forward_backward fills them.
    await worker.request('forward', { model_id: 'm1', data, loss_fn: 'cross_entropy' });
    const zero = await worker.request('get_gradients', { model_id: 'm1' });
    expect(Object.keys(zero.tensors).sort()).toEqual(['E.lora_A', 'E.lora_B', 'W1.lora_A', 'W1.lora_B', 'W2.lora_A', 'W2.lora_B', 'b1', 'b2']);
    expect(zero.tensors['b2'].data.every((x) => x === 0)).toBe(true);

    // Checkpoint round trip through the wire: save, train on, load back, same weights.
    const saved = await worker.request('save_weights', { model_id: 'm1', path: path.join(dir, 'ckpt', 'm1.bwpt'), kind: 'training' });
    expect(saved.bytes).toBe((await readFile(saved.path)).length);
    const before = await worker.request('get_weights', { model_id: 'm1' });
    await worker.request('forward_backward', { model_id: 'm1', data, loss_fn: 'cross_entropy' });
    await worker.request('optim_step', { model_id: 'm1', adam_params: { learning_rate: 0.02 } });
    await worker.request('load_weights', { model_id: 'm1', path: saved.path, optimizer: true });
    expect(await worker.request('get_weights', { model_id: 'm1' })).toEqual(before);
    await worker.request('create_model', { model_id: 'copy', base_model: 'tiny-lm', lora_config: { rank: 4 }, checkpoint_path: saved.path });
    expect((await worker.request('get_weights', { model_id: 'copy' })).tensors['W2.lora_B']).toEqual(before.tensors['W2.lora_B']);

    // Sampling: seeded, prompt logprobs with null first.
    const params: MethodParamsInput['sample'] = { model_id: 'm1', prompt_tokens: bytes('hel'), num_samples: 2, sampling_params: { max_tokens: 8, temperature: 0.7, seed: 5 }, prompt_logprobs: true };
    const s1 = await worker.request('sample', params);
    expect(await worker.request('sample', params)).toEqual(s1);
    expect(s1.sequences).toHaveLength(2);
    expect(s1.prompt_logprobs![0]).toBeNull();

    // User errors.
    await expect(worker.request('forward', { model_id: 'nope', data, loss_fn: 'cross_entropy' })).rejects.toMatchObject({ rpcCode: -32602, category: 'user' });
    await expect(worker.request('create_model', { model_id: 'x', base_model: 'llama-70b', lora_config: { rank: 1 } })).rejects.toThrow(/unknown base_model "llama-70b"/);
    await expect(worker.request('forward_backward', { model_id: 'm1', data, loss_fn: 'ppo' })).rejects.toThrow(/logprobs is required/);
    await expect(worker.request('frobnicate', {})).rejects.toMatchObject({ rpcCode: RpcErrorCodes.methodNotFound, message: 'unknown method: frobnicate' });

    await expect(worker.request('shutdown', { grace_ms: 100 })).resolves.toEqual({});
    const [code] = await once(child!, 'exit');
    expect(code).toBe(0);
  });

  it('answers sample while a long train_job runs, and cancel stops the job in the worker', async () => {
    const worker = await startWorker();
    await worker.request('create_model', { model_id: 's', base_model: 'tiny-lm', lora_config: { rank: 2 } });
    const rows = Array.from({ length: 400 }, (_, i) => ({ instruction: `row ${i}`, output: 'some text to learn from '.repeat(3) }));
    const dataset = await writeDataset('long.jsonl', rows);
    const progress: Progress[] = [];
    let jobSettled = false;
    let firstProgress!: (p: Progress) => void;
    const started = new Promise<Progress>((resolve) => (firstProgress = resolve));
    const job = worker.request(
      'train_job',
      { job_id: 'long', spec: { training_type: 'qlora', base_model: 'tiny-lm', epochs: 50, batch_size: 4, lora_r: 4, learning_rate: 0.01, max_seq_length: 64 }, dataset_path: dataset, output_dir: path.join(dir, 'out-long') },
      {
        onProgress: (p) => {
          progress.push(p);
          firstProgress(p);
        },
      },
    );
    job.then(
      () => (jobSettled = true),
      () => (jobSettled = true),
    );
    const first = await started;
    expect(first).toMatchObject({ step: 1, total_steps: 5000, epoch: 1 });
    expect(typeof first.loss).toBe('number');

    const sampled = await worker.request('sample', { model_id: 's', prompt_tokens: bytes('ab'), num_samples: 1, sampling_params: { max_tokens: 4, seed: 1 }, prompt_logprobs: false });
    expect(sampled.sequences[0].tokens).toHaveLength(4);
    expect(jobSettled).toBe(false);
    const stepsSoFar = progress.length;
    await expect(worker.request('ping', {})).resolves.toEqual({});

    // Cancel by the request id the progress notifications carry; the job then fails in the worker.
    await expect(worker.request('cancel', { id: first.id })).resolves.toEqual({});
    const error = await job.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ rpcCode: RpcErrorCodes.cancelled, code: 'CONFLICT' });
    expect((error as Error).message).toMatch(/^train_job long cancelled at step \d+\/5000$/);
    expect(progress.length).toBeGreaterThanOrEqual(stepsSoFar);
    await expect(stat(path.join(dir, 'out-long', 'adapter.bwpt'))).rejects.toThrow(/ENOENT/);
    await expect(worker.request('ping', {})).resolves.toEqual({});
  });

  it('answers sample on a model whose training queue is busy, and keeps that queue in order', async () => {
    const worker = await startWorker();
    await worker.request('create_model', { model_id: 'q', base_model: 'tiny-lm', lora_config: { rank: 2 } });
    const long = datum('x'.repeat(1001));
    const order: string[] = [];
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      ops.push(worker.request('forward_backward', { model_id: 'q', seq_id: 2 * i, data: [long, long], loss_fn: 'cross_entropy' }).then(() => order.push(`fb${i}`)));
      ops.push(worker.request('optim_step', { model_id: 'q', seq_id: 2 * i + 1, adam_params: { learning_rate: 0.01 } }).then(() => order.push(`step${i}`)));
    }
    const sampled = await worker.request('sample', { model_id: 'q', prompt_tokens: bytes('x'), num_samples: 1, sampling_params: { max_tokens: 2, seed: 1 } });
    order.push('sample');
    expect(sampled.sequences[0].tokens).toHaveLength(2);
    await Promise.all(ops);
    expect(order.filter((o) => o !== 'sample')).toEqual(['fb0', 'step0', 'fb1', 'step1', 'fb2', 'step2', 'fb3', 'step3']);
    expect(order.indexOf('sample')).toBeLessThan(order.indexOf('step3'));
  });

  it('runs qlora, standard and rag train_jobs to completion and validates their output', async () => {
    const worker = await startWorker();
    const dataset = await writeDataset('small.jsonl', [
      { text: 'abcabcabcabc' },
      { instruction: 'say', output: 'abcabc' },
      { text: 'abcabcabc abc' },
    ]);
    for (const trainingType of ['qlora', 'standard'] as const) {
      const out = path.join(dir, `out-${trainingType}`);
      const steps: number[] = [];
      const result = await worker.request(
        'train_job',
        { job_id: trainingType, spec: { training_type: trainingType, base_model: 'tiny-lm', epochs: 10, batch_size: 2, learning_rate: 0.02, lora_r: 4, seed: 3 }, dataset_path: dataset, output_dir: out },
        { onProgress: (p) => steps.push(p.step) },
      );
      expect(result).toMatchObject({ model_path: out, steps: 20 });
      expect(result.files).toEqual(['adapter.bwpt', 'training_config.json', 'tokenizer.json', 'tokenizer_config.json']);
      expect(steps).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const config = JSON.parse(await readFile(path.join(out, 'training_config.json'), 'utf8'));
      expect(config).toMatchObject({ training_type: trainingType, base_model: 'tiny-lm', steps: 20, model_config: { rank: trainingType === 'standard' ? 0 : 4 } });
      const validated = await worker.request('validate_output', { path: out });
      expect(validated).toMatchObject({ ok: true, model_name: 'tiny-lm', files: result.files });
      expect(validated.parameters).toBeGreaterThan(20_000);
      expect(typeof validated.sample_text).toBe('string');
    }
    const rag = await worker.request('train_job', { job_id: 'rag', spec: { training_type: 'rag', base_model: 'tiny-lm' }, dataset_path: dataset, output_dir: path.join(dir, 'out-rag') });
    expect(rag.files).toEqual(['index.json', 'training_config.json']);
    const index = JSON.parse(await readFile(path.join(dir, 'out-rag', 'index.json'), 'utf8'));
    expect(index).toMatchObject({ format: 'bwp-rag-index/1', dim: 64 });
    expect(index.rows.map((r: { text: string }) => r.text)).toEqual(['abcabcabcabc', 'say\nabcabc', 'abcabcabc abc']);
    expect(await worker.request('validate_output', { path: path.join(dir, 'out-rag') })).toMatchObject({ ok: true, sample_text: 'abcabcabcabc' });
    expect(await worker.request('validate_output', { path: path.join(dir, 'nowhere') })).toMatchObject({ ok: false, errors: [expect.stringMatching(/does not exist/)] });
    await expect(
      worker.request('train_job', { job_id: 'bad', spec: { training_type: 'qlora', base_model: 'llama3.2:3b' }, dataset_path: dataset, output_dir: path.join(dir, 'x') }),
    ).rejects.toMatchObject({ rpcCode: -32602, category: 'user', message: expect.stringMatching(/unknown base_model "llama3.2:3b"/) });
  });

  it('fails pending requests when the worker is SIGKILLed', async () => {
    const worker = await startWorker();
    const dataset = await writeDataset('k.jsonl', Array.from({ length: 100 }, () => ({ text: 'kill me softly '.repeat(4) })));
    let killed!: () => void;
    const progressed = new Promise<void>((resolve) => (killed = resolve));
    const job = worker.request(
      'train_job',
      { job_id: 'k', spec: { training_type: 'standard', base_model: 'tiny-lm', epochs: 100 }, dataset_path: dataset, output_dir: path.join(dir, 'k') },
      { onProgress: () => killed() },
    );
    await progressed;
    child!.kill('SIGKILL');
    await expect(job).rejects.toMatchObject({ rpcCode: RpcErrorCodes.connectionClosed, code: 'UNAVAILABLE', retryable: true });
    await expect(worker.closed).resolves.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(worker.request('ping', {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});

describe('tiny worker framing errors (raw socket)', () => {
  /** Spawns the worker against a plain server and returns the raw socket once hello arrived. */
  async function rawWorker(): Promise<{ socket: Socket; lines: () => string[] }> {
    const socketPath = path.join(dir, 'raw.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    spawnWorker(socketPath);
    const [socket] = (await once(server, 'connection')) as [Socket];
    server.close();
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('error', () => {});
    while (!text.includes('\n')) await once(socket, 'data');
    expect(JSON.parse(text.split('\n')[0])).toMatchObject({ method: 'hello' });
    return { socket, lines: () => text.split('\n').filter(Boolean) };
  }

  it('a garbage line gets a -32700 error, then the worker closes and exits', async () => {
    const { socket, lines } = await rawWorker();
    socket.write('this is not json\n');
    const [code] = await once(child!, 'exit');
    expect(code).toBe(1);
    const errors = lines().map((l) => JSON.parse(l)).filter((m) => m.error);
    expect(errors).toEqual([{ jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.stringMatching(/line is not JSON.*closing/), data: { category: 'server', retryable: false } } }]);
    expect(stderr).toMatch(/disconnected \(worker connection closed: peer sent an unreadable line/);
  });

  it('an oversized line is refused without being buffered whole', async () => {
    const { socket, lines } = await rawWorker();
    socket.write(Buffer.alloc(66 * 1024 * 1024, 0x61));
    const [code] = await once(child!, 'exit');
    expect(code).toBe(1);
    const errors = lines().map((l) => JSON.parse(l)).filter((m) => m.error);
    expect(errors[0].error).toMatchObject({ code: -32700, message: expect.stringMatching(/line exceeds 68157440 bytes/) });
  });
});
