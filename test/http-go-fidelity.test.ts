import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin } from '../core/plugin-api.ts';
import { rawExchange } from './helpers/raw-http.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

// What Go's net/http + gorilla/mux (the InstructLab UI api-server) write, byte for byte where the
// bytes are Go's own: server.go's refusals, mux's 301/405/404. Node adds Date and x-request-id.
// The routes are core's ilab-ui `/jobs` routes, so no backend plugin is needed.
const goRefusal = (text: string) => `HTTP/1.1 ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${text}`;
const noJobs = 'null\n';

/** An ilab-ui route with a JSON body, like the UI's POSTs. */
const echoPlugin = definePlugin({
  id: 'echo',
  version: '1.0.0',
  operations: ['query Echo($name: String!) { echo(name: $name) }'],
  schema: (builder) => builder.queryField('echo', (t) => t.string({ args: { name: t.arg.string({ required: true }) }, resolve: (_root, { name }) => name })),
  rest: (routes) => routes.add({ profile: 'ilab-ui', method: 'POST', path: '/echo', operation: 'Echo', variables: { name: 'body.name' }, reply: (data: { echo: string }) => ({ json: { name: data.echo } }) }),
});

let bp: TestDaemon;
let llamactlUrl: string;
beforeAll(async () => {
  bp = await startTestDaemon({ plugins: [echoPlugin], config: { rest: { profiles: { llamactl: { listen: { host: '127.0.0.1', port: 0 } } } } } });
  llamactlUrl = Object.values(bp.daemon.addresses!.rest)[0];
});
afterAll(() => bp.stop());

const get = (target: string, extra = '') => rawExchange(bp.url, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`);

describe('gorilla/mux path cleaning', () => {
  test.each([
    ['/./jobs', '/jobs'],
    ['/data/../jobs', '/jobs'],
    ['/%2e/jobs', '/jobs'],
    ['//jobs?x=1&y', '/jobs?x=1&y'],
    ['/./jobs?', '/jobs?'],
    ['/jobs/./', '/jobs/'],
    ['/a/../jo!bs', '/jo%21bs'],
  ])('%s → 301 to %s with an empty body', async (target, location) => {
    const reply = await get(target);
    expect(reply.statusLine).toBe('HTTP/1.1 301 Moved Permanently');
    expect(reply.headers.location).toBe(location);
    expect(reply.headers['content-length']).toBe('0');
    expect(reply.headers['content-type']).toBeUndefined();
    expect(reply.body).toBe('');
  });

  test('an absolute-form target is served as its path; unclean, it redirects within its origin', async () => {
    const served = await get('http://127.0.0.1:8080/jobs');
    expect(served.statusLine).toBe('HTTP/1.1 200 OK');
    expect(served.headers['content-type']).toBe('application/json');
    expect(served.body).toBe(noJobs);
    const unclean = await get('HTTP://127.0.0.1:8080//jobs');
    expect(unclean.statusLine).toBe('HTTP/1.1 301 Moved Permanently');
    expect(unclean.headers.location).toBe('http://127.0.0.1:8080/jobs');
  });
});

describe('methods gorilla/mux does not route', () => {
  test('an unknown method on a known path is a 405 with an empty body and no Allow', async () => {
    const reply = await rawExchange(bp.url, 'FOO /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(reply.statusLine).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(reply.headers['content-length']).toBe('0');
    expect(reply.headers.allow).toBeUndefined();
    expect(reply.body).toBe('');
  });

  test('an unknown method is routed like any other: 404 on an unknown path, 301 on an unclean one', async () => {
    const missing = await rawExchange(bp.url, 'FOO /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(missing.statusLine).toBe('HTTP/1.1 404 Not Found');
    expect(missing.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(missing.headers['x-content-type-options']).toBe('nosniff');
    expect(missing.body).toBe('404 page not found\n');
    const unclean = await rawExchange(bp.url, 'get /./jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(unclean.statusLine).toBe('HTTP/1.1 301 Moved Permanently');
    expect(unclean.headers.location).toBe('/jobs');
  });

  test('OPTIONS without CORS configured is a 405, preflight or not', async () => {
    const preflight = await rawExchange(bp.url, 'OPTIONS /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nOrigin: http://ui.example\r\nAccess-Control-Request-Method: GET\r\n\r\n');
    expect(preflight.statusLine).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.body).toBe('');
    const plain = await rawExchange(bp.url, 'OPTIONS /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(plain.statusLine).toBe('HTTP/1.1 405 Method Not Allowed');
  });

  test('CONNECT is routed like any method, not taken for a tunnel', async () => {
    const reply = await rawExchange(bp.url, 'CONNECT /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(reply.statusLine).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(reply.body).toBe('');
  });

  test('OPTIONS * is answered by the server itself, as net/http does', async () => {
    const reply = await rawExchange(bp.url, 'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(reply.statusLine).toBe('HTTP/1.1 200 OK');
    expect(reply.headers['content-length']).toBe('0');
  });

  test('unknown methods are one metrics label, not one per method', async () => {
    await rawExchange(bp.url, 'FROBNICATE /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const metrics = await (await bp.request('/metrics')).text();
    expect(metrics).toMatch(/backplane_http_requests_total\{route="unmatched",method="OTHER",status="405"\} \d+/);
    expect(metrics).not.toContain('FROBNICATE');
  });
});

describe('HTTP/1.0', () => {
  test('is answered as HTTP/1.0, without Connection: close, and the server closes', async () => {
    const reply = await rawExchange(bp.url, 'GET /jobs HTTP/1.0\r\n\r\n');
    expect(reply.statusLine).toBe('HTTP/1.0 200 OK');
    expect(reply.headers.connection).toBeUndefined();
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.body).toBe(noJobs);
  });

  test('errors and redirects too; keep-alive is granted as Go grants it', async () => {
    const missing = await rawExchange(bp.url, 'GET /nope HTTP/1.0\r\n\r\n');
    expect(missing.statusLine).toBe('HTTP/1.0 404 Not Found');
    expect(missing.body).toBe('404 page not found\n');
    const redirect = await rawExchange(bp.url, 'GET /./jobs HTTP/1.0\r\n\r\n');
    expect(redirect.statusLine).toBe('HTTP/1.0 301 Moved Permanently');
    expect(redirect.headers.location).toBe('/jobs');
    // Asked for keep-alive, with a Content-Length: `Connection: keep-alive`, no Keep-Alive timeout.
    const kept = await rawExchange(bp.url, 'GET /jobs HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /nope HTTP/1.0\r\n\r\n');
    expect(kept.statusLine).toBe('HTTP/1.0 200 OK');
    expect(kept.headers.connection).toBe('keep-alive');
    expect(kept.headers['keep-alive']).toBeUndefined();
    expect(kept.body).toContain(`${noJobs}HTTP/1.0 404 Not Found\r\n`);
  });
});

describe('requests Go refuses before routing', () => {
  test.each([
    ['a malformed header line', 'GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\n\r\n', '400 Bad Request'],
    ['garbage', 'GARBAGE\r\n\r\n', '400 Bad Request'],
    ['a target that is not a path', 'GET jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', '400 Bad Request'],
    ['a malformed escape in the path', 'GET /jo%zzbs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', '400 Bad Request'],
    ['an invalid Content-Length', 'POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ten\r\n\r\n', '400 Bad Request'],
    ['HTTP/1.1 without Host', 'GET /jobs HTTP/1.1\r\n\r\n', '400 Bad Request: missing required Host header'],
    ['HTTP/2.0 over HTTP/1 framing', 'GET /jobs HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n', '505 HTTP Version Not Supported: unsupported protocol version'],
    ['HTTP/3.1', 'GET /jobs HTTP/3.1\r\nHost: 127.0.0.1\r\n\r\n', '505 HTTP Version Not Supported: unsupported protocol version'],
    ['a header block over the limit', `GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, '431 Request Header Fields Too Large'],
  ])('%s: Go text reply, exact bytes', async (_name, request, text) => {
    expect((await rawExchange(bp.url, request)).raw).toBe(goRefusal(text));
  });

  test('a transfer coding other than chunked: 501, exact bytes', async () => {
    const reply = await rawExchange(bp.url, 'POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n');
    expect(reply.raw).toBe('HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nUnsupported transfer encoding');
  });

  test('HTTP/1.2 is served as Go serves it (any HTTP/1.x)', async () => {
    const reply = await rawExchange(bp.url, 'GET /jobs HTTP/1.2\r\nHost: 127.0.0.1\r\n\r\n');
    expect(reply.statusLine).toBe('HTTP/1.1 200 OK');
    expect(reply.body).toBe(noJobs);
  });

  test('pipelined behind a request being served, they are answered after it, in order', async () => {
    const first = 'GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const method = await rawExchange(bp.url, `${first}FOO /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    expect(method.statusLine).toBe('HTTP/1.1 200 OK');
    expect(method.body).toMatch(/^null\nHTTP\/1\.1 405 Method Not Allowed\r\n/);
    const host = await rawExchange(bp.url, `${first}GET /jobs HTTP/1.1\r\n\r\n`);
    expect(host.statusLine).toBe('HTTP/1.1 200 OK');
    expect(host.body).toBe(`null\n${goRefusal('400 Bad Request: missing required Host header')}`);
  });

  test('a chunked body is read; one whose framing breaks is hung up on, as Go does', async () => {
    const post = (chunks: string) => rawExchange(bp.url, `POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`);
    const good = await post('d\r\n{"name":"ui"}\r\n0\r\n\r\n');
    expect(good.statusLine).toBe('HTTP/1.1 200 OK');
    expect(good.body).toBe('{"name":"ui"}\n');
    expect((await post('zz\r\n{}\r\n0\r\n\r\n')).raw).toBe('');
  });

  test('the daemon keeps serving after each of them', async () => {
    expect((await get('/jobs')).body).toBe(noJobs);
  });
});

test('a listener without a Go-served profile keeps Node’s own answers', async () => {
  const reply = await rawExchange(llamactlUrl, 'FOO /api/instances HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  expect(reply.statusLine).toBe('HTTP/1.1 400 Bad Request');
  expect(reply.body).toBe('');
  const http10 = await rawExchange(llamactlUrl, 'GET /api/nope HTTP/1.0\r\n\r\n');
  expect(http10.statusLine).toBe('HTTP/1.1 404 Not Found');
});
