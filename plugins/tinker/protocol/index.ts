/**
 * bwp/1, the backplane worker protocol: JSON-RPC 2.0 over NDJSON on a Unix socket, between the
 * daemon (tinker/training plugins) and a numeric worker process (TinyLM in TS, PyTorch in
 * Python, or a third party's).
 *
 * - Daemon side: {@link listenForWorker} → {@link WorkerConnection}.
 * - Worker side: {@link serveWorker} with a {@link WorkerMethods} table.
 * - Shared: message types, zod schemas of every method's params, {@link WorkerRpcError} and
 *   {@link RpcErrorCodes}, NDJSON framing.
 *
 * @see docs/worker-protocol.md
 * @packageDocumentation
 */
export * from './types.ts';
export {
  PROTOCOL_VERSION,
  lossFns,
  tensorDataSchema,
  encodedTextChunkSchema,
  modelInputSchema,
  datumSchema,
  loraConfigSchema,
  adamParamsSchema,
  samplingParamsSchema,
  methodParamSchemas,
  trainJobSpecSchema,
  deviceSchema,
  helloSchema,
  progressSchema,
  logSchema,
} from './schemas.ts';
export { RpcErrorCodes, WorkerRpcError, userError, cancelledError, toRpcError, type WorkerRpcErrorOptions } from './errors.ts';
export { DEFAULT_MAX_LINE_BYTES, FramingError, NdjsonDecoder, encodeLine } from './framing.ts';
export { JsonRpcPeer, type RequestOptions, type PeerHandlers } from './peer.ts';
export {
  WorkerConnection,
  listenForWorker,
  type WorkerConnectionEvents,
  type WorkerConnectionOptions,
  type ListenForWorkerOptions,
} from './daemon-side.ts';
export { serveWorker, type MethodContext, type WorkerMethods, type ServeWorkerOptions, type WorkerServer } from './worker-side.ts';
