import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin } from '../core/plugin-api.ts';
import { restTestPlugin } from './helpers/rest-test-plugin.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

describe('REST compatibility engine', () => {
  let bp: TestDaemon;
  let tinker: string;
  beforeAll(async () => {
    bp = await startTestDaemon({
      plugins: [restTestPlugin],
      config: { server: { bodyLimitBytes: 512 }, rest: { profiles: { tinker: { listen: { host: '127.0.0.1', port: 0 } }, mlserve: { prefix: '/mlserve' } } } },
    });
    tinker = Object.values(bp.daemon.addresses!.rest)[0];
  });
  afterAll(() => bp.stop());

  const json = (path: string, body: unknown, base?: string) =>
    fetch(`${base ?? bp.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  test('a route runs its operation and shapes the reply', async () => {
    const response = await bp.request('/api/things/ada?count=3');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ value: 'ada!!!' });
    const created = await json('/api/things', { name: 'x', size: 2 });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ created: 'x:2' });
  });

  test('each profile answers errors in its own format', async () => {
    const llamactl = await bp.request('/api/things/missing');
    expect(llamactl.status).toBe(404);
    expect(await llamactl.json()).toEqual({ error: 'Not Found', code: 'NOT_FOUND', details: 'Thing not found' });
    const fastapi = await bp.request('/training-manager/datasets/missing');
    expect(await fastapi.json()).toEqual({ detail: 'Thing not found' });
    const mlserve = await bp.request('/mlserve/api/rest-test/missing');
    expect(await mlserve.json()).toEqual({ message: 'Thing not found' });
  });

  test('a profile with its own listener serves only there', async () => {
    expect(await (await fetch(`${tinker}/api/v1/things/bo`)).json()).toEqual({ value: 'bo!' });
    expect(await (await fetch(`${tinker}/api/v1/nope`)).json()).toEqual({ detail: 'Not Found' });
    expect((await bp.request('/api/v1/things/bo')).status).toBe(404);
    expect((await fetch(`${tinker}/graphql`)).status).toBe(404);
  });

  test('bad input: malformed JSON, wrong types, unknown fields, bad query values, oversize bodies', async () => {
    const malformed = await json('/api/things', '{"name":');
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).code).toBe('BAD_USER_INPUT');
    const wrongType = await json('/api/things', { name: 'x', size: 'big' });
    expect(wrongType.status).toBe(400);
    expect((await wrongType.json()).details).toMatch(/size/);
    const unknownField = await json('/training-manager/datasets', { name: 'x', size: 1, color: 'red' });
    expect(unknownField.status).toBe(422);
    expect((await unknownField.json()).detail).toMatch(/color/);
    const badQuery = await bp.request('/api/things/ada?count=lots');
    expect(await badQuery.json()).toEqual({ error: 'Bad Request', code: 'BAD_USER_INPUT', details: 'count must be a number' });
    const tooLong = await bp.request(`/api/things/${'n'.repeat(30)}`);
    expect(tooLong.status).toBe(400);
    const oversize = await json('/api/things', { name: 'x'.repeat(1000), size: 1 });
    expect(oversize.status).toBe(413);
    expect((await oversize.json()).code).toBe('PAYLOAD_TOO_LARGE');
    const fastapiMalformed = await json('/training-manager/datasets', 'nope');
    expect(fastapiMalformed.status).toBe(422);
    expect((await fastapiMalformed.json()).detail[0].type).toBe('json_invalid');
  });

  test('an unexpected failure is a masked 500, never a leak', async () => {
    const response = await bp.request('/api/things/crash');
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).not.toContain('/secret/path');
    expect(JSON.parse(body)).toEqual({ error: 'Internal Server Error', code: 'INTERNAL_SERVER_ERROR', details: 'Internal Server Error' });
  });

  test('wrong method on a known path: 405 in the profile format with Allow', async () => {
    const response = await bp.request('/api/things/ada', { method: 'PUT' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
  });
});

describe('route table checks at boot', () => {
  const routePlugin = (id: string, path: string, operation = 'RestEcho') =>
    definePlugin({
      id,
      version: '1.0.0',
      rest: (routes) => routes.add({ profile: 'llamactl', method: 'GET', path, operation, reply: () => ({ empty: true }) }),
    });

  test('two plugins claiming one route is a coded conflict', async () => {
    await expect(startTestDaemon({ plugins: [restTestPlugin, routePlugin('dup', '/api/things/{other}')] })).rejects.toThrow(
      /BP_ERR_REST_ROUTE_CONFLICT: GET \/api\/things\/\{other\} is claimed by 'rest-test' \(llamactl\) and 'dup' \(llamactl\)/,
    );
  });

  test('a route naming an unknown operation fails the boot', async () => {
    await expect(startTestDaemon({ plugins: [routePlugin('lost', '/x', 'NoSuchOp')] })).rejects.toThrow(/BP_ERR_REST_OPERATION: plugin 'lost': route GET \/x runs operation 'NoSuchOp'/);
  });

  test('an operation that does not validate against the schema fails the boot', async () => {
    const broken = definePlugin({ id: 'broken', version: '1.0.0', operations: ['query Broken { nothingHere }'] });
    await expect(startTestDaemon({ plugins: [broken] })).rejects.toThrow(/operation 'Broken' does not validate/);
  });

  test('operations are checked one by one when their file does not validate as a whole', async () => {
    // A fragment no operation spreads is an error for the whole file, not for any operation.
    const unused = definePlugin({ id: 'unused', version: '1.0.0', operations: ['query Fine { daemon { version } }\nfragment Spare on DaemonInfo { version }'] });
    const bp = await startTestDaemon({ plugins: [unused] });
    await bp.stop();
    const mixed = definePlugin({ id: 'mixed', version: '1.0.0', operations: ['query Fine { daemon { version } }\nquery Broken { nothingHere }'] });
    await expect(startTestDaemon({ plugins: [mixed] })).rejects.toThrow(/operation 'Broken' does not validate: Cannot query field "nothingHere"/);
  });
});
