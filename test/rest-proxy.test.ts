import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin } from '../core/plugin-api.ts';
import type { RestRoute } from '../core/rest/route.ts';
import { authTestPlugin } from './helpers/auth-test-plugin.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const key = 'p'.repeat(32);

/** A deferred the upstream waits on, so each test decides when the upstream goes on. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('REST proxy replies stream through without buffering', () => {
  let bp: TestDaemon;
  let upstream: Server;
  let upstreamUrl: string;
  let deadUrl: string;
  const sse = { release: gate(), finished: false };
  const hang = { closed: gate(), started: gate() };
  const upload = { firstChunk: gate() };

  const handlers: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    // Two SSE events with a pause the test controls: the second waits for the client to have the first.
    '/sse': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: {"n":1}\n\n');
      void sse.release.opened.then(async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        res.write('data: {"n":2}\n\n');
        sse.finished = true;
        res.end('data: [DONE]\n\n');
      });
    },
    // Streams forever until the client goes away.
    '/hang': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: tick\n\n');
      hang.started.open();
      const timer = setInterval(() => res.write('data: tick\n\n'), 100);
      res.once('close', () => {
        clearInterval(timer);
        hang.closed.open();
      });
      req.resume();
    },
    // Echoes what arrived: method, url, headers and body; signals on the first body chunk.
    '/echo': (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => {
        if (chunks.length === 0) upload.firstChunk.open();
        chunks.push(chunk);
      });
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json', 'x-from-upstream': 'yes', connection: 'keep-alive, x-upstream-hop', 'x-upstream-hop': 'drop me' });
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
    },
    '/slow': () => undefined, // never answers
    // Which upstream connection carried the request.
    '/conn': (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ port: req.socket.remotePort }));
    },
  };

  beforeAll(async () => {
    upstream = createServer((req, res) => (handlers[new URL(req.url!, 'http://x').pathname] ?? ((_q, s) => s.writeHead(404, { 'content-type': 'text/plain' }).end('no such upstream path')))(req, res));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    // A port that was free a moment ago: nothing listens there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise((resolve) => closed.close(resolve));
    bp = await startTestDaemon({ plugins: [authTestPlugin], config: { auth: { keys: [{ name: 'ops', key, scopes: ['read'] }] }, plugins: { 'auth-test': { upstream: upstreamUrl, deadUpstream: deadUrl } } } });
  });
  afterAll(async () => {
    await bp.stop();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  const auth = { authorization: `Bearer ${key}` };

  test('SSE: the client reads the first event while the upstream is still streaming', async () => {
    const response = await bp.request('/t/proxy/sse', { headers: auth });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe('data: {"n":1}\n\n');
    expect(sse.finished).toBe(false);
    sse.release.open();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toBe('data: {"n":2}\n\ndata: [DONE]\n\n');
    expect(sse.finished).toBe(true);
  });

  test('a client that disconnects aborts the upstream request', async () => {
    const controller = new AbortController();
    const response = await bp.request('/t/proxy/hang', { headers: auth, signal: controller.signal });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: tick\n\n');
    await hang.started.opened;
    controller.abort();
    await waitFor(() => Promise.race([hang.closed.opened.then(() => true), new Promise<undefined>((resolve) => setTimeout(resolve, 50))]), { timeoutMs: 5_000 });
  });

  test('upstream connections are kept alive: requests in a row share one', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await bp.request('/t/proxy/conn', { headers: auth });
      expect(response.status).toBe(200);
      ports.push(((await response.json()) as { port: number }).port);
    }
    expect(new Set(ports).size).toBe(1);
  });

  test('request bodies stream upstream; hop-by-hop headers and the caller’s credentials stay behind', async () => {
    const daemon = new URL(bp.url);
    const answer = await new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
      const req = request({
        host: daemon.hostname,
        port: daemon.port,
        method: 'POST',
        path: '/t/proxy/echo?model=tiny&x=1',
        headers: { ...auth, 'x-api-key': key, cookie: 'session=1', connection: 'keep-alive, x-hop', 'x-hop': 'drop me', 'x-keep': 'keep me', 'content-type': 'text/plain' },
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.write('part one, ');
      // The second part goes only once the upstream has the first: nothing waits for the whole body.
      void upload.firstChunk.opened.then(() => req.end('part two'));
    });
    expect(answer.status).toBe(201);
    expect(answer.headers['x-from-upstream']).toBe('yes');
    expect(answer.headers['x-upstream-hop']).toBeUndefined();
    const echoed = JSON.parse(answer.body);
    expect(echoed).toMatchObject({ method: 'POST', url: '/echo?model=tiny&x=1', body: 'part one, part two' });
    expect(echoed.headers).toMatchObject({ 'x-keep': 'keep me', 'x-upstream-key': 'backend-secret', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', host: new URL(upstreamUrl).host });
    for (const name of ['authorization', 'x-api-key', 'cookie', 'x-hop']) expect(echoed.headers[name], name).toBeUndefined();
  });

  test('a body read by the route (json) goes upstream byte for byte', async () => {
    const body = '{"model": "tiny",  "messages": [] }';
    const response = await bp.request('/t/buffered/echo', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    expect(response.status).toBe(201);
    const echoed = await response.json();
    expect(echoed.body).toBe(body);
    expect(echoed.headers['content-length']).toBe(String(Buffer.byteLength(body)));
  });

  test('upstream statuses pass through; an unreachable upstream is a 502 and a silent one a 504, in the profile’s format', async () => {
    const missing = await bp.request('/t/proxy/nope', { headers: auth });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('no such upstream path');

    const dead = await bp.request('/t/dead', { headers: auth });
    expect(dead.status).toBe(502);
    expect(await dead.json()).toEqual({ error: 'Bad Gateway', code: 'BACKEND_ERROR', details: 'Bad gateway: the upstream server could not be reached (ECONNREFUSED)' });

    const slow = await bp.request('/t/buffered/slow', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    expect(slow.status).toBe(504);
    expect(await slow.json()).toEqual({ error: 'Gateway Timeout', code: 'TIMEOUT', details: 'Gateway timeout: the upstream server did not answer within 2000 ms' });
  });

  test('proxy routes run their operation first: no key, no upstream request', async () => {
    const response = await bp.request('/t/proxy/echo', { method: 'POST', body: 'x' });
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe('UNAUTHENTICATED');
  });
});

test('a {name*} parameter before the end of a path, or an unknown rateLimit class, is a boot error', async () => {
  const withRoute = (route: Partial<RestRoute>) =>
    definePlugin({
      id: 'bad-route',
      version: '1.0.0',
      operations: ['query BadRouteViewer { viewer { principal } }'],
      rest: (routes) => routes.add({ profile: 'llamactl', method: 'GET', path: '/x', operation: 'BadRouteViewer', reply: () => ({ empty: true }), ...route }),
    });
  await expect(startTestDaemon({ plugins: [withRoute({ path: '/x/{rest*}/y' })] })).rejects.toThrow('BP_ERR_REST_OPERATION: route /x/{rest*}/y: a {name*} parameter must end the path');
  await expect(startTestDaemon({ plugins: [withRoute({ rateLimit: 'slow' as never })] })).rejects.toThrow("has rateLimit 'slow'; expected default, heavy or none");
});
