import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../core/services/logger-service.ts';
import { jobsTestPlugin } from './helpers/jobs-test-plugin.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const keys = { reader: 'r'.repeat(32), operator: 'o'.repeat(32), admin: 'a'.repeat(32) };

describe('API keys and scopes', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    process.env.BP_TEST_ADMIN_KEY = keys.admin;
    bp = await startTestDaemon({
      plugins: [jobsTestPlugin],
      config: {
        server: { host: '0.0.0.0' },
        auth: {
          keys: [
            { name: 'reader', key: keys.reader, scopes: ['read'] },
            { name: 'operator', key: keys.operator, scopes: ['operate'] },
            { name: 'admin', keyEnv: 'BP_TEST_ADMIN_KEY', scopes: ['admin'] },
          ],
        },
      },
    });
  });
  afterAll(() => bp.stop());

  test('a non-loopback bind is allowed once keys exist', () => {
    expect(bp.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
  });

  test('no key or a wrong key: 401 on GraphQL and in the REST profile format', async () => {
    const none = await bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ plugins { id } }"}' });
    expect(none.status).toBe(401);
    expect((await none.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const wrong = await bp.gql('{ plugins { id } }', {}, { apiKey: 'x'.repeat(32) }).catch(() => undefined);
    expect(wrong?.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const rest = await bp.request('/jobs');
    expect(rest.status).toBe(401);
    expect(rest.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await rest.text()).toMatch(/^Unauthorized/);
    expect((await bp.request('/metrics')).status).toBe(401);
  });

  test('read may query but not mutate; operate may mutate; X-API-Key works too', async () => {
    expect((await bp.gql('{ plugins { id } }', {}, { apiKey: keys.reader })).data.plugins).toHaveLength(1);
    const denied = await bp.gql('mutation { cancelJob(id: "t-1") { id } }', {}, { apiKey: keys.reader });
    expect(denied.errors?.[0]).toMatchObject({ message: "Forbidden: this operation needs the 'operate' scope", extensions: { code: 'FORBIDDEN' } });
    const allowed = await bp.gql('mutation { cancelJob(id: "t-1") { id } }', {}, { apiKey: keys.operator });
    expect(allowed.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const viaHeader = await bp.request('/jobs', { headers: { 'x-api-key': keys.reader } });
    expect(viaHeader.status).toBe(200);
    const admin = await bp.gql('mutation { cancelJob(id: "t-1") { id } }', {}, { apiKey: keys.admin });
    expect(admin.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  test('graphql-ws needs a key in connection_init', async () => {
    const denied = bp.ws({ apiKey: 'nope'.repeat(8) });
    await expect(denied.iterate({ query: '{ plugins { id } }' }).next()).rejects.toBeDefined();
    const ok = bp.ws({ apiKey: keys.reader });
    const first = await ok.iterate({ query: '{ plugins { id } }' }).next();
    expect(first.value.data.plugins).toEqual([{ id: 'jobs-test' }]);
  });

  test('GraphiQL page loads without a key, but operations still need one', async () => {
    const page = await bp.request('/graphql', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
  });
});

test('secrets never reach a log line', () => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', write: (line) => lines.push(line) }).child({ apiKey: 'child-secret' });
  logger.info('configured', { key: 'top-secret', authorization: 'Bearer abc', name: 'ci', password: 'pw' });
  expect(lines[0]).not.toMatch(/top-secret|Bearer abc|child-secret|"pw"/);
  expect(JSON.parse(lines[0])).toMatchObject({ key: '[redacted]', authorization: '[redacted]', apiKey: '[redacted]', name: 'ci' });
});
