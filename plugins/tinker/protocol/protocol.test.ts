import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancelledError, listenForWorker, NdjsonDecoder, RpcErrorCodes, serveWorker, userError, WorkerRpcError, type FramingError, type WorkerServer } from './index.ts';

const hello = {
  backend: 'tiny' as const,
  devices: [],
  capabilities: { losses: ['cross_entropy'], sampling: true, lora: true, proto: false, train_job: false, introspection: false },
  models: ['tiny-lm'],
};

describe('NdjsonDecoder', () => {
  it('splits lines across chunks and skips blank lines', () => {
    const got: unknown[] = [];
    const decoder = new NdjsonDecoder({ onMessage: (m) => got.push(m), onError: (e) => got.push(e) });
    decoder.push(Buffer.from('{"a":1}\n\n{"b"'));
    decoder.push(Buffer.from(':2}\r\n{"c":3}'));
    decoder.push(Buffer.from('\n'));
    expect(got).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });

  it('fails once on an oversize line, without buffering it', () => {
    const errors: FramingError[] = [];
    const decoder = new NdjsonDecoder({ maxLineBytes: 16, onMessage: () => {}, onError: (e) => errors.push(e) });
    decoder.push(Buffer.from('{"a":"0123456789'));
    decoder.push(Buffer.from('0123456789"}\n{"b":1}\n'));
    expect(errors.map((e) => e.reason)).toEqual(['oversize']);
    expect(errors[0].message).toContain('exceeds 16 bytes');
  });

  it('rejects garbage and non-object JSON', () => {
    for (const line of ['hello there\n', '[1,2]\n', '42\n']) {
      const errors: FramingError[] = [];
      new NdjsonDecoder({ onMessage: () => {}, onError: (e) => errors.push(e) }).push(Buffer.from(line));
      expect(errors[0]?.reason).toBe('garbage');
    }
  });
});

describe('WorkerRpcError', () => {
  it('maps categories to backplane codes and round-trips the wire form', () => {
    expect(userError('bad').code).toBe('BAD_USER_INPUT');
    expect(cancelledError().rpcCode).toBe(RpcErrorCodes.cancelled);
    const server = new WorkerRpcError(RpcErrorCodes.serverError, 'boom', { data: { detail: 1 } });
    expect(server.code).toBe('BACKEND_ERROR');
    const back = WorkerRpcError.fromRpcError(server.toRpcError());
    expect(back).toMatchObject({ rpcCode: -32000, category: 'server', retryable: false, data: { detail: 1 }, message: 'boom' });
  });
});

describe('daemon ↔ worker over a Unix socket (in process)', () => {
  let dir: string;
  let worker: WorkerServer | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bwp-'));
  });
  afterEach(async () => {
    worker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function pair(methods: Parameters<typeof serveWorker>[0]['methods'], limits: { daemon?: number; worker?: number } = {}) {
    const socketPath = path.join(dir, 'w.sock');
    let served: Promise<WorkerServer> | undefined;
    const connection = await listenForWorker(socketPath, {
      helloTimeoutMs: 5000,
      maxLineBytes: limits.daemon,
      onListening: () => {
        served = serveWorker({ socketPath, hello: { ...hello, worker_id: 'w1' }, methods, heartbeatMs: 20, maxLineBytes: limits.worker });
      },
    });
    worker = await served!;
    return connection;
  }

  it('says hello, validates params, routes progress, answers unknown methods', async () => {
    const connection = await pair({
      tokenizer_info: (params, ctx) => {
        ctx.progress({ step: 1, total_steps: 2 });
        return { vocab_size: params.model_id.length, bos_token_id: 0, eos_token_id: 1, pad_token_id: 2, kind: 'byte' };
      },
    });
    expect(connection.hello).toMatchObject({ protocol: 'bwp/1', worker_id: 'w1', pid: process.pid, backend: 'tiny' });
    const progress: number[] = [];
    const info = await connection.request('tokenizer_info', { model_id: 'abc' }, { onProgress: (p) => progress.push(p.step) });
    expect(info.vocab_size).toBe(3);
    expect(progress).toEqual([1]);
    await expect(connection.request('tokenizer_info', { model_id: '' })).rejects.toMatchObject({ rpcCode: -32602, category: 'user' });
    await expect(connection.request('nope', {})).rejects.toMatchObject({ rpcCode: -32601, message: 'unknown method: nope' });
    await expect(connection.request('ping', {})).resolves.toEqual({});
    await new Promise<void>((resolve) => connection.once('heartbeat', resolve));
  });

  it('cancels an in-flight request: the caller rejects and the handler sees its signal', async () => {
    let sawAbort!: () => void;
    const aborted = new Promise<void>((resolve) => (sawAbort = resolve));
    const connection = await pair({
      get_weights: (_params, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort();
            reject(cancelledError());
          });
          ctx.progress({ step: 0, total_steps: 1 });
        }),
    });
    const controller = new AbortController();
    const pending = connection.request('get_weights', { model_id: 'm' }, { signal: controller.signal, onProgress: () => controller.abort() });
    await expect(pending).rejects.toMatchObject({ rpcCode: RpcErrorCodes.cancelled });
    await aborted;
  });

  it('fails pending requests with UNAVAILABLE when the worker goes away', async () => {
    const connection = await pair({ get_weights: () => new Promise(() => {}) });
    const pending = connection.request('get_weights', { model_id: 'm' });
    worker!.close();
    await expect(pending).rejects.toMatchObject({ rpcCode: RpcErrorCodes.connectionClosed, code: 'UNAVAILABLE' });
    await expect(connection.request('ping', {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('shutdown answers, then ends the worker with the grace period', async () => {
    const connection = await pair({});
    await expect(connection.request('shutdown', { grace_ms: 7 })).resolves.toEqual({});
    await expect(worker!.done).resolves.toMatchObject({ reason: 'shutdown', graceMs: 7 });
    await connection.closed;
  });

  it('a garbage line from the worker closes the connection with a clear error', async () => {
    const socketPath = path.join(dir, 'g.sock');
    const pending = listenForWorker(socketPath, {
      helloTimeoutMs: 5000,
      onListening: () => {
        const socket = connect(socketPath);
        socket.on('error', () => {});
        socket.write('this is not json\n');
      },
    });
    await expect(pending).rejects.toThrow(/unreadable line: line is not JSON/);
  });

  it('refuses to send a request over the line limit, and the worker answers an oversized result with -32000', async () => {
    const connection = await pair({ get_weights: () => ({ tensors: { big: { shape: [1000], data: new Array(1000).fill(0.5) } } }) }, { daemon: 2000, worker: 2000 });
    const data = [{ model_input: { chunks: [{ type: 'encoded_text' as const, tokens: new Array(1000).fill(1) }] }, loss_fn_inputs: { target_tokens: { data: [1], dtype: 'int64' as const } } }];
    await expect(connection.request('forward', { model_id: 'm', data, loss_fn: 'cross_entropy' })).rejects.toMatchObject({ rpcCode: -32602, message: expect.stringMatching(/forward request too large/) });
    await expect(connection.request('get_weights', { model_id: 'm' })).rejects.toMatchObject({ rpcCode: -32000, message: expect.stringMatching(/result too large/) });
    await expect(connection.request('ping', {})).resolves.toEqual({});
  });

  it('times out when nobody says hello', async () => {
    await expect(listenForWorker(path.join(dir, 't.sock'), { helloTimeoutMs: 50 })).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});
