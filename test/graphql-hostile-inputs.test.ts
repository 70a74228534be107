import { afterAll, beforeAll, expect, test } from 'vitest';
import { createDocumentCache } from '../core/graphql/document-cache.ts';
import { maxDocumentAliases } from '../core/graphql/parse-limits.ts';
import { createConcurrencyLimit } from '../packages/plugin-api/src/concurrency-limit.ts';
import { jobsTestPlugin } from './helpers/jobs-test-plugin.ts';
import { rawExchange } from './helpers/raw-http.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

// Cases the fuzz suite (scripts/fuzz) found, each answered now with a clear client error.
let bp: TestDaemon;
beforeAll(async () => {
  bp = await startTestDaemon({ plugins: [jobsTestPlugin] });
});
afterAll(() => bp.stop());

test('the document cache is bounded by the size of the texts it keeps, not only their count', () => {
  const cache = createDocumentCache<number>({ maxEntries: 1000, maxChars: 10_000, maxKeyChars: 4_000 });
  for (let i = 0; i < 100; i++) cache.set(`${i}:${'x'.repeat(1_000)}`, i);
  expect(cache.chars).toBeLessThanOrEqual(10_000);
  expect(cache.size).toBeLessThan(11);
  expect(cache.get(`99:${'x'.repeat(1_000)}`)).toBe(99);
  expect(cache.get(`0:${'x'.repeat(1_000)}`)).toBeUndefined();
  cache.set('y'.repeat(5_000), 1);
  expect(cache.get('y'.repeat(5_000))).toBeUndefined();
});

test(`more than ${maxDocumentAliases} aliased fields is a validation error, on the fast path and in yoga`, async () => {
  const fields = (n: number) => Array.from({ length: n }, (_, i) => `a${i}: daemon { version }`).join(' ');
  const ok = await bp.gql(`{ ${fields(maxDocumentAliases)} }`);
  expect(ok.errors).toBeUndefined();
  const tooMany = await bp.gql(`{ ${fields(maxDocumentAliases + 1)} }`);
  expect(tooMany.errors?.[0]?.message).toBe(`The document has more than ${maxDocumentAliases} aliased fields.`);
  expect(tooMany.data).toBeUndefined();
  const overGet = await bp.request(`/graphql?query=${encodeURIComponent(`{ ${fields(maxDocumentAliases + 1)} }`)}`, { headers: { accept: 'application/json', 'x-graphql-yoga-csrf': '1' } });
  expect(((await overGet.json()) as { errors: { message: string }[] }).errors[0]!.message).toContain('aliased fields');
});

test('log reads of one request run a few at a time', async () => {
  const limit = createConcurrencyLimit(3);
  let active = 0;
  let peak = 0;
  const task = async () => {
    peak = Math.max(peak, ++active);
    await new Promise((resolve) => setImmediate(resolve));
    active--;
  };
  await Promise.all(Array.from({ length: 20 }, () => limit(task)));
  expect(peak).toBe(3);
});

test('invalid JSON in GET variables or extensions is a 400 naming the parameter', async () => {
  for (const name of ['variables', 'extensions']) {
    const response = await bp.request(`/graphql?query=${encodeURIComponent('{ daemon { version } }')}&${name}=%7Bnot%20json`, { headers: { accept: 'application/json', 'x-graphql-yoga-csrf': '1' } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errors: [{ message: `The "${name}" query parameter is not valid JSON.`, extensions: { code: 'BAD_REQUEST' } }] });
  }
});

test('an absolute-form request target for /graphql is served as its path, with no stack trace', async () => {
  const { host } = new URL(bp.url);
  const query = encodeURIComponent('{ daemon { version } }');
  const reply = await rawExchange(bp.url, `GET http://${host}/graphql?query=${query} HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\nX-GraphQL-Yoga-CSRF: 1\r\nConnection: close\r\n\r\n`);
  expect(reply.statusLine).toBe('HTTP/1.1 200 OK');
  expect(reply.body).toContain('{"data":{"daemon":{"version":"0.1.0"}}}');
});

test('Job.label reads the job’s own labels only, never the prototype', async () => {
  const started = await bp.gql<{ testStartJob: string }>('mutation { testStartJob(fixture: "job-print", args: ["hi"]) }');
  const id = started.data!.testStartJob;
  await waitFor(async () => ((await bp.gql(`{ job(id: "${id}") { status } }`)).data.job.status === 'succeeded' ? true : undefined));
  const result = await bp.gql(`{ job(id: "${id}") { fixture: label(key: "fixture") proto: label(key: "hasOwnProperty") ctor: label(key: "constructor") } }`);
  expect(result.errors).toBeUndefined();
  expect(result.data).toEqual({ job: { fixture: 'job-print', proto: null, ctor: null } });
});
