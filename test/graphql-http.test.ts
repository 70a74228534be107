import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin, requireScope } from '../core/plugin-api.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const probe = definePlugin({
  id: 'http-probe',
  version: '1.0.0',
  schema(builder) {
    builder.queryField('explode', (t) =>
      t.string({
        resolve: () => {
          throw new Error('secret detail');
        },
      }),
    );
    builder.queryField('adminOnly', (t) => t.string({ extensions: requireScope('admin'), resolve: () => 'yes' }));
  },
});

const keys = { reader: 'r'.repeat(32), admin: 'a'.repeat(32) };
const graphqlResponse = 'application/graphql-response+json';

describe('GraphQL over HTTP: application/graphql-response+json on the fast path', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({
      plugins: [probe],
      config: {
        auth: {
          keys: [
            { name: 'reader', key: keys.reader, scopes: ['read'] },
            { name: 'admin', key: keys.admin, scopes: ['admin'] },
          ],
        },
      },
    });
  });
  afterAll(() => bp.stop());

  const cases = [
    { name: 'data', query: '{ daemon { version } }', statuses: { [graphqlResponse]: 200, 'application/json': 200 } },
    { name: 'a field error (data: null)', query: '{ explode }', statuses: { [graphqlResponse]: 200, 'application/json': 200 } },
    { name: 'variables that do not coerce', query: 'query($n: Int!) { jobs(first: $n) { edges { cursor } } }', variables: { n: 'ten' }, statuses: { [graphqlResponse]: 400, 'application/json': 200 } },
    { name: 'a missing variable', query: 'query($n: Int!) { jobs(first: $n) { edges { cursor } } }', statuses: { [graphqlResponse]: 400, 'application/json': 400 } },
    { name: 'a scope the key lacks', query: '{ adminOnly }', statuses: { [graphqlResponse]: 403, 'application/json': 200 } },
    { name: 'an invalid document', query: '{ daemon { versio } }', statuses: { [graphqlResponse]: 400, 'application/json': 200 } },
    { name: 'an unknown operation name', query: 'query A { daemon { version } }', operationName: 'Z', statuses: { [graphqlResponse]: 400, 'application/json': 400 } },
  ];

  for (const c of cases) {
    for (const accept of [graphqlResponse, 'application/json'] as const) {
      test(`${c.name}, Accept: ${accept} — the POST (fast path) answers as yoga answers the GET`, async () => {
        const auth = { authorization: `Bearer ${keys.reader}`, accept };
        const post = await bp.request('/graphql', {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ query: c.query, variables: c.variables, operationName: c.operationName }),
        });
        const search = new URLSearchParams({ query: c.query, ...(c.variables ? { variables: JSON.stringify(c.variables) } : {}), ...(c.operationName ? { operationName: c.operationName } : {}) });
        const get = await bp.request(`/graphql?${search}`, { headers: auth });
        const [postText, getText] = [await post.text(), await get.text()];
        expect(post.status).toBe(c.statuses[accept]);
        expect(get.status).toBe(c.statuses[accept]);
        expect(post.headers.get('content-type')).toBe(`${accept}; charset=utf-8`);
        expect(get.headers.get('content-type')).toBe(`${accept}; charset=utf-8`);
        expect(JSON.parse(postText)).toEqual(JSON.parse(getText));
        // yoga's internal extensions (`http`, `unexpected`) never reach a client.
        expect(postText).not.toMatch(/"http"|"unexpected"|secret detail/);
      });
    }
  }

  test('Accept negotiation follows yoga: the first listed type wins, a wildcard means application/json', async () => {
    const post = (accept: string) =>
      bp.request('/graphql', { method: 'POST', headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json', accept }, body: '{"query":"{ adminOnly }"}' });
    expect((await post(`${graphqlResponse}, application/json;q=0.9`)).headers.get('content-type')).toBe(`${graphqlResponse}; charset=utf-8`);
    expect((await post(`application/json, ${graphqlResponse}`)).headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await post('*/*')).headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await post('application/*')).headers.get('content-type')).toBe('application/json; charset=utf-8');
    // GraphiQL's own header, and streaming types listed beside a regular one, answer one result.
    expect((await post(`${graphqlResponse}, application/json, multipart/mixed`)).headers.get('content-type')).toBe(`${graphqlResponse}; charset=utf-8`);
    expect((await post('text/event-stream, application/json')).headers.get('content-type')).toBe('application/json; charset=utf-8');
    const streamed = await post('text/event-stream');
    expect(streamed.headers.get('content-type')).toBe('text/event-stream');
    expect(await streamed.text()).toContain('"adminOnly":"yes"');
    const ok = await post(graphqlResponse);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ data: { adminOnly: 'yes' } });
    expect((await post('text/html')).status).toBe(406);
  });

  test('bodies yoga would refuse are left to yoga', async () => {
    for (const body of ['{"query":"{ daemon { version } }","extensions":[]}', '{"query":"{ daemon { version } }","extensions":"x"}']) {
      const response = await bp.request('/graphql', { method: 'POST', headers: { authorization: `Bearer ${keys.reader}`, 'content-type': 'application/json', accept: graphqlResponse }, body });
      expect(response.status, body).toBe(400);
      expect((await response.json()).errors[0].extensions.code).toBe('BAD_REQUEST');
    }
  });
});

describe('CSRF prevention and subscriptions over GET (loopback, no API keys)', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [probe] });
  });
  afterAll(() => bp.stop());

  const query = encodeURIComponent('{ daemon { version } }');

  test('a GET without a preflight-only header is refused: a page on any site could send it', async () => {
    const refused = await bp.request(`/graphql?query=${query}`);
    expect(refused.status).toBe(403);
    expect((await refused.json()).errors[0]).toMatchObject({ extensions: { code: 'CSRF_HEADER_REQUIRED' } });
    const proofs: Record<string, string>[] = [{ 'x-graphql-yoga-csrf': '1' }, { 'apollo-require-preflight': 'true' }, { 'x-api-key': 'anything' }, { authorization: 'Bearer anything' }];
    for (const headers of proofs) {
      const allowed = await bp.request(`/graphql?query=${query}`, { headers });
      expect(allowed.status, JSON.stringify(headers)).toBe(200);
      expect(await allowed.json()).toEqual({ data: { daemon: { version: '0.1.0' } } });
    }
    // A browser adds Basic credentials by itself, so they prove nothing.
    expect((await bp.request(`/graphql?query=${query}`, { headers: { authorization: 'Basic dTpw' } })).status).toBe(403);
  });

  test('a POST a form could send is refused; JSON (preflighted) and the GraphiQL page are not', async () => {
    const form = await bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `query=${query}` });
    expect(form.status).toBe(403);
    const text = await bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ daemon { version } }"}' });
    expect(text.status).toBe(403);
    const json = await bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ daemon { version } }"}' });
    expect(json.status).toBe(200);
    const page = await bp.request('/graphql', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>backplane</title>');
  });

  test('a subscription over GET is streamed only to Accept: text/event-stream, never to */*', async () => {
    const subscription = encodeURIComponent('subscription { pluginStatusChanged { id } }');
    for (const accept of ['*/*', 'application/json', graphqlResponse]) {
      const refused = await bp.request(`/graphql?query=${subscription}`, { headers: { 'x-graphql-yoga-csrf': '1', accept } });
      expect(refused.status, accept).toBe(406);
      expect((await refused.json()).errors[0]).toMatchObject({ message: 'A subscription over HTTP needs Accept: text/event-stream', extensions: { code: 'NOT_ACCEPTABLE' } });
    }
    const abort = new AbortController();
    const stream = await bp.request(`/graphql?query=${subscription}`, { headers: { 'x-graphql-yoga-csrf': '1', accept: 'text/event-stream' }, signal: abort.signal });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    abort.abort();
  });

  test('so is a subscription over POST', async () => {
    const body = '{"query":"subscription { pluginStatusChanged { id } }"}';
    for (const accept of [undefined, '*/*', 'application/json']) {
      const refused = await bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}) }, body });
      expect(refused.status, accept).toBe(406);
      expect((await refused.json()).errors[0].extensions.code).toBe('NOT_ACCEPTABLE');
    }
    // yoga has no multipart answer for subscriptions: its own empty 406.
    expect((await bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'multipart/mixed' }, body })).status).toBe(406);
    const abort = new AbortController();
    const stream = await bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body, signal: abort.signal });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    abort.abort();
  });
});
