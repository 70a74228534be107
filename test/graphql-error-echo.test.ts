import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

let bp: TestDaemon;
beforeAll(async () => {
  bp = await startTestDaemon();
});
afterAll(() => bp.stop());

const big = 'a'.repeat(300_000);

// graphql-js quotes the caller's input in these messages; a 300 KB name or value came back whole
// (a variable's value twice, 600 KB).
test.each([
  ['an unknown field', `{ ${big} }`, undefined, 'Cannot query field "aaaa'],
  ['an unknown fragment', `{ ...${big} }`, undefined, 'Unknown fragment "aaaa'],
  ['a literal of the wrong type', `{ jobs(first: "${big}") { edges { node { id } } } }`, undefined, 'Int cannot represent non-integer value: "aaaa'],
  ['a variable of the wrong type', 'query($f: Int) { jobs(first: $f) { edges { node { id } } } }', { f: big }, 'Variable "$f" got invalid value "aaaa'],
  ['a syntax error', `{ daemon { version } } ${big}`, undefined, 'Syntax Error: Unexpected Name "aaaa'],
])('%s: the error quotes the first characters of the input only', async (_what, query, variables, start) => {
  const response = await fetch(`${bp.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  expect(text.length).toBeLessThan(2000);
  const { errors } = JSON.parse(text) as { errors: { message: string }[] };
  expect(errors[0].message.startsWith(start)).toBe(true);
  expect(errors[0].message).toContain('…" (300000 characters)');
  expect(errors[0].message.length).toBeLessThanOrEqual(500);
});

test('the same over graphql-ws', async () => {
  const client = bp.ws();
  const iterator = client.iterate({ query: `subscription { ${big} }` });
  const failure = await iterator.next().then(
    () => undefined,
    (errors: { message: string }[]) => errors,
  );
  expect(failure?.[0].message).toMatch(/^Cannot query field "a{64}…" \(300000 characters\) on type "Subscription"\.$/);
});
