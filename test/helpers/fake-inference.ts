import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small inference backend for gateway tests and benchmarks: the KServe v2 inference protocol
 * (`/v2/models/{m}` metadata, `/ready`, `/infer`, as Triton answers them) and an OpenAI server's
 * `/v1/models` and `/v1/chat/completions` (JSON, or server-sent events with `stream: true`, as
 * vLLM and llama-server send them). `failNext` makes the next answers fail with a status.
 */
export interface FakeInference {
  url: string;
  /** Requests seen, in order: `METHOD /path`. */
  seen: string[];
  /** The next `count` requests are answered with `status` (e.g. 503) instead. */
  failNext(count: number, status: number): void;
  close(): Promise<void>;
}

export async function startFakeInference({ models = ['tiny'], chunks = 5, chunkBytes = 16 } = {}): Promise<FakeInference> {
  const seen: string[] = [];
  let failures: { count: number; status: number } = { count: 0, status: 503 };
  const server: Server = createServer(async (req, res) => {
    const body = await read(req);
    const path = (req.url ?? '/').split('?')[0];
    seen.push(`${req.method} ${path}`);
    if (failures.count > 0) {
      failures.count--;
      return json(res, failures.status, { error: `failing on purpose (${failures.status})` });
    }
    const kserve = /^\/v2\/models\/([^/]+)(\/ready|\/infer)?$/.exec(path);
    if (kserve) {
      const model = decodeURIComponent(kserve[1]);
      if (!models.includes(model)) return json(res, 404, { error: `Request for unknown model: '${model}' is not found` });
      if (kserve[2] === '/ready') return res.writeHead(200).end();
      if (kserve[2] === '/infer') {
        const request = JSON.parse(body.toString() || '{}') as { id?: string; inputs?: { name: string; shape: number[]; datatype: string; data: number[] }[] };
        const input = request.inputs?.[0];
        return json(res, 200, { model_name: model, model_version: '1', ...(request.id ? { id: request.id } : {}), outputs: [{ name: 'OUTPUT0', datatype: input?.datatype ?? 'FP32', shape: input?.shape ?? [1], data: (input?.data ?? [0]).map((v) => v * 2) }] });
      }
      return json(res, 200, { name: model, versions: ['1'], platform: 'onnxruntime_onnx', inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [-1, 4] }] });
    }
    if (path === '/v1/models') return json(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', owned_by: 'fake' })) });
    if (path === '/v1/chat/completions' && req.method === 'POST') {
      const request = JSON.parse(body.toString() || '{}') as { model?: string; stream?: boolean };
      if (!request.stream) {
        return json(res, 200, { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: request.model ?? models[0], choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (let i = 0; i < chunks; i++) {
        res.write(`data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'x'.repeat(chunkBytes) } }] })}\n\n`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      res.end('data: [DONE]\n\n');
      return;
    }
    json(res, 404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    failNext: (count, status) => (failures = { count, status }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function read(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}
