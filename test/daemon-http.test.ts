import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin } from '../core/plugin-api.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const failing = definePlugin({
  id: 'failing',
  version: '1.0.0',
  schema: (builder) =>
    builder.queryField('explode', (t) =>
      t.string({
        resolve: () => {
          throw new Error('connection string postgres://admin:hunter2@db leaked');
        },
      }),
    ),
});

describe('daemon over HTTP', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [failing], config: { server: { bodyLimitBytes: 2048, cors: { origins: ['http://ui.example'] } } } });
  });
  afterAll(() => bp.stop());

  test('healthz and readyz', async () => {
    expect(await (await bp.request('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await bp.request('/readyz');
    expect(ready.status).toBe(200);
    expect((await ready.json()).status).toBe('ready');
  });

  test('a GraphQL query', async () => {
    const result = await bp.gql('{ daemon { version } plugins { id } }');
    expect(result).toEqual({ data: { daemon: { version: '0.1.0' }, plugins: [{ id: 'failing' }] } });
  });

  test('argument validation gives a coded error', async () => {
    const result = await bp.gql('{ job(id: "../etc") { id } }');
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(/id/);
  });

  test('wrong argument types are rejected with a code, not a 500', async () => {
    const response = await bp.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: 'query($n: Int!) { jobs(first: $n) { edges { cursor } } }', variables: { n: 'ten' } }),
    });
    const body = await response.json();
    expect(response.status).toBeLessThan(500);
    expect(body.errors[0].message).toMatch(/Int/);
  });

  test('malformed JSON body on /graphql is a 400', async () => {
    const response = await bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad' });
    expect(response.status).toBe(400);
  });

  test('oversize body on /graphql is a 413', async () => {
    const response = await bp.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ daemon { version } } # ${'x'.repeat(4096)}` }),
    });
    expect(response.status).toBe(413);
  });

  test('ilab-ui unknown route and wrong method answer like gorilla/mux', async () => {
    const missing = await bp.request('/nope');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('404 page not found\n');
    expect(missing.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const wrong = await bp.request('/jobs', { method: 'POST' });
    expect(wrong.status).toBe(405);
    expect(await wrong.text()).toBe('');
    const unclean = await bp.request('//jobs', { redirect: 'manual' });
    expect(unclean.status).toBe(301);
    expect(unclean.headers.get('location')).toBe('/jobs');
  });

  test('unexpected errors are masked on every path (fast JSON path and yoga)', async () => {
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const response = await bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: '{"query":"{ explode }"}' });
      const text = await response.text();
      expect(text).not.toContain('hunter2');
      expect(JSON.parse(text).errors[0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' }, path: ['explode'] });
    }
  });

  test('invalid documents, batches and unknown parameters get yoga answers, coded', async () => {
    const post = (body: string) => bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const invalid = await (await post('{"query":"{ daemon { versio } }"}')).json();
    expect(invalid.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const syntax = await (await post('{"query":"{ daemon { "}')).json();
    expect(syntax.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    const batch = await post('[{"query":"{ daemon { version } }"}]');
    expect(batch.status).toBe(400);
    const extra = await post('{"query":"{ daemon { version } }","foo":1}');
    expect((await extra.json()).errors[0].message).toBe('Unexpected parameter "foo" in the request body.');
  });

  test('metrics in Prometheus text', async () => {
    await bp.request('/healthz');
    const text = await (await bp.request('/metrics')).text();
    expect(text).toMatch(/backplane_http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+/);
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
    expect(text).toMatch(/backplane_http_request_duration_seconds_bucket/);
  });

  test('CORS: configured origins get headers and preflights; others do not', async () => {
    const preflight = await bp.request('/graphql', { method: 'OPTIONS', headers: { origin: 'http://ui.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://ui.example');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    const simple = await bp.request('/jobs', { headers: { origin: 'http://ui.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBe('http://ui.example');
    const stranger = await bp.request('/jobs', { headers: { origin: 'http://evil.example' } });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
    const strangerPreflight = await bp.request('/graphql', { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(strangerPreflight.status).toBe(403);
  });

  test('GraphiQL in a browser', async () => {
    const response = await bp.request('/graphql', { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/graphiql/i);
  });
});
