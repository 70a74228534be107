import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.js';

describe('daemon over HTTP', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ config: { server: { bodyLimitBytes: 2048 } } });
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
    expect(result).toEqual({ data: { daemon: { version: '0.1.0' }, plugins: [] } });
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

  test('metrics in Prometheus text', async () => {
    await bp.request('/healthz');
    const text = await (await bp.request('/metrics')).text();
    expect(text).toMatch(/backplane_http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+/);
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
    expect(text).toMatch(/backplane_http_request_duration_seconds_bucket/);
  });

  test('GraphiQL in a browser', async () => {
    const response = await bp.request('/graphql', { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/graphiql/i);
  });
});
