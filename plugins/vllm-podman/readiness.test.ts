import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createHttpClient } from '../../core/services/http-service.ts';
import { isReadyHint, probeHost, probeVllm } from './readiness.ts';

// A stand-in vLLM whose answers each test sets.
let health = 200;
let models: unknown = { object: 'list', data: [{ id: 'pre-train', object: 'model' }] };
let server: http.Server;
let port: number;
const client = createHttpClient({ signal: new AbortController().signal });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/health') return res.writeHead(health).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(models));
  });
  port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('ready only when /health answers and /v1/models lists the served name', async () => {
  health = 200;
  models = { object: 'list', data: [{ id: 'pre-train' }, ...Array.from({ length: 200 }, (_, i) => ({ id: `lora-${i}`, parent: 'pre-train' }))] };
  expect(await probeVllm(client, { host: '127.0.0.1', port, name: 'pre-train' })).toEqual({ state: 'ready' });
  expect(await probeVllm(client, { host: '0.0.0.0', port, name: 'pre-train' })).toEqual({ state: 'ready' });
  expect(await probeVllm(client, { host: '127.0.0.1', port, name: 'post-train' })).toEqual({ state: 'loading', reason: "GET /v1/models does not list 'post-train' yet" });
  models = 'not json';
  expect((await probeVllm(client, { host: '127.0.0.1', port, name: 'pre-train' })).state).toBe('loading');
});

test('503 from /health means a dead engine; no answer means loading', async () => {
  health = 503;
  expect(await probeVllm(client, { host: '127.0.0.1', port, name: 'pre-train' })).toMatchObject({ state: 'dead' });
  health = 500;
  expect(await probeVllm(client, { host: '127.0.0.1', port, name: 'pre-train' })).toEqual({ state: 'loading', reason: 'waiting for GET /health (500)' });
  const closed = await new Promise<number>((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  expect(await probeVllm(client, { host: '127.0.0.1', port: closed, name: 'pre-train' })).toEqual({ state: 'loading', reason: 'waiting for GET /health (ECONNREFUSED)' });
});

test('log hints for current and old vLLM', () => {
  expect(isReadyHint('(APIServer pid=1) INFO:     Application startup complete.')).toBe(true);
  expect(isReadyHint('INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)')).toBe(true);
  expect(isReadyHint('INFO 06-21 07:20:50 [api_server.py:576] Starting vLLM server on http://0.0.0.0:8000')).toBe(false);
  expect(probeHost('::')).toBe('[::1]');
  expect(probeHost('::1')).toBe('[::1]');
});
