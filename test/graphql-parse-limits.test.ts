import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { checkDocumentDepth, maxDocumentDepth } from '../core/graphql/parse-limits.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

let bp: TestDaemon;
beforeAll(async () => {
  bp = await startTestDaemon({ config: { server: { bodyLimitBytes: 4 * 1024 * 1024 } } });
});
afterAll(() => bp.stop());

const nested = (levels: number) => `{ daemon ${'{ a '.repeat(levels)}${'}'.repeat(levels)} }`;
const deepLiteral = (levels: number) => `{ job(id: ${'['.repeat(levels)}"x"${']'.repeat(levels)}) { id } }`;

async function post(query: string, accept = 'application/json') {
  const response = await bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ query }) });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } };
}

test.each([
  ['selection sets', nested(20_000)],
  ['list literals', deepLiteral(20_000)],
  ['object literals', `{ job(id: ${'{a:'.repeat(20_000)}1${'}'.repeat(20_000)}) { id } }`],
])('a document nested 20,000 levels deep in %s is refused as a parse error, not a crash', async (_name, query) => {
  for (const accept of ['application/json', 'application/graphql-response+json']) {
    const { status, body } = await post(query, accept);
    expect(status).toBe(accept === 'application/json' ? 200 : 400);
    expect(body.errors?.[0]?.message).toBe(`Syntax Error: the document nests deeper than ${maxDocumentDepth} levels.`);
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  }
  // The daemon is still well.
  expect((await bp.gql('{ daemon { version } }')).data).toEqual({ daemon: { version: '0.1.0' } });
});

test('the same limit applies to graphql-ws subscriptions', async () => {
  const client = bp.ws();
  try {
    const result = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: `subscription ${nested(5_000).slice(1)}` }, { next: resolve, error: resolve, complete: () => resolve('complete') });
    });
    expect(JSON.stringify(result)).toContain(`nests deeper than ${maxDocumentDepth} levels`);
  } finally {
    await client.dispose();
  }
});

test('ordinary documents pass: the introspection query, braces inside strings and comments', async () => {
  const introspection = await post(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, inputValueDeprecation: true }));
  expect(introspection.status).toBe(200);
  expect(introspection.body.errors).toBeUndefined();
  const quoted = `{ job(id: "${'{'.repeat(500)}") { id } } # ${'['.repeat(500)}\n`;
  expect(checkDocumentDepth(quoted)).toBeUndefined();
  expect(checkDocumentDepth(`{ a(b: """ ${'{'.repeat(500)} \\""" """) }`)).toBeUndefined();
  const { body } = await post(quoted);
  expect(body.errors?.[0]?.extensions?.code).not.toBe('GRAPHQL_PARSE_FAILED');
});

test('a document with more tokens than the limit is refused by the parser', async () => {
  const { body } = await post(`{ ${'daemon { version } '.repeat(15_000)} }`);
  expect(body.errors?.[0]?.message).toMatch(/Document contains more that 50000 tokens|more than 50000 tokens/);
});
