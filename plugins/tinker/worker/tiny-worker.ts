/**
 * The TinyLM bwp/1 worker process: `node plugins/tinker/worker/tiny-worker.ts`, with
 * `BACKPLANE_WORKER_SOCKET` (and optionally `BACKPLANE_WORKER_ID`) in the environment. It
 * connects, says hello (backend `tiny`), heartbeats every 5 s and serves every bwp/1 method
 * until `shutdown` or until the daemon goes away; stdout/stderr carry logs only. With
 * `BACKPLANE_WORKER_RECONNECT_MS` set (the training plugin sets it), work in flight survives a
 * daemon restart: the worker reconnects to the same socket for that long and delivers its
 * answers there.
 *
 * @see docs/worker-protocol.md
 * @module
 */
import { fileURLToPath } from 'node:url';
import { lossFns, serveWorker } from '../protocol/index.ts';
import { TINY_BASE_MODELS } from '../tiny/model.ts';
import { createTinyMethods } from './tiny-methods.ts';

/** Runs the worker until the connection ends; resolves with the exit code. */
export async function runTinyWorker(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const socketPath = env.BACKPLANE_WORKER_SOCKET;
  if (!socketPath) {
    process.stderr.write('tiny-worker: BACKPLANE_WORKER_SOCKET is not set\n');
    return 2;
  }
  const reconnectMs = Number(env.BACKPLANE_WORKER_RECONNECT_MS ?? 0);
  if (!Number.isFinite(reconnectMs) || reconnectMs < 0) {
    process.stderr.write(`tiny-worker: BACKPLANE_WORKER_RECONNECT_MS must be a number of milliseconds (got ${env.BACKPLANE_WORKER_RECONNECT_MS})\n`);
    return 2;
  }
  const server = await serveWorker({
    socketPath,
    hello: {
      worker_id: env.BACKPLANE_WORKER_ID ?? `tiny-${process.pid}`,
      backend: 'tiny',
      devices: [],
      capabilities: { losses: [...lossFns], sampling: true, lora: true, proto: false, train_job: true, introspection: true },
      models: [...TINY_BASE_MODELS],
    },
    methods: createTinyMethods(),
    reconnect: reconnectMs > 0 ? { timeoutMs: reconnectMs } : undefined,
  });
  const end = await server.done;
  process.stderr.write(`tiny-worker: ${end.reason} (${end.message})\n`);
  return end.reason === 'shutdown' ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runTinyWorker().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`tiny-worker: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
