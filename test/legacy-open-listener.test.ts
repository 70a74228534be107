import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin, requireScope } from '../core/plugin-api.ts';
import { ilabPlugin } from '../plugins/ilab/index.ts';
import { createFakeIlab, type FakeIlab } from './fixtures/ilab/fake-ilab-env.ts';
import { startIlabTestDaemon } from './fixtures/ilab/ilab-test-kit.ts';
import { rawExchange } from './helpers/raw-http.ts';
import { restTestPlugin } from './helpers/rest-test-plugin.ts';
import type { TestDaemon } from './helpers/test-daemon.ts';

const key = 'k'.repeat(32);

/** An ilab-ui route that mutates (what the UI's POSTs need) and one that needs admin. */
const uiRoutesPlugin = definePlugin({
  id: 'ui-routes',
  version: '1.0.0',
  operations: ['mutation UiTouch($name: String!) { uiTouch(name: $name) }\nmutation UiWipe { uiWipe }'],
  schema(builder) {
    builder.mutationField('uiTouch', (t) => t.string({ args: { name: t.arg.string({ required: true }) }, resolve: (_root, { name }) => `touched ${name}` }));
    builder.mutationField('uiWipe', (t) => t.string({ extensions: requireScope('admin'), resolve: () => 'wiped' }));
  },
  rest(routes) {
    routes.add({ profile: 'ilab-ui', method: 'POST', path: '/ui-touch', operation: 'UiTouch', variables: { name: 'body.name' }, reply: (data: { uiTouch: string }) => ({ json: { status: data.uiTouch } }) });
    routes.add({ profile: 'ilab-ui', method: 'POST', path: '/ui-wipe', operation: 'UiWipe', body: 'ignore', reply: (data: { uiWipe: string }) => ({ json: { status: data.uiWipe } }) });
  },
});

describe("a legacy profile with auth: 'none' on its own loopback listener, API keys configured", () => {
  let fake: FakeIlab;
  let bp: TestDaemon;
  let open: string;
  beforeAll(async () => {
    fake = await createFakeIlab({ version: '0.23' });
    bp = await startIlabTestDaemon({
      plugins: [ilabPlugin, uiRoutesPlugin, restTestPlugin],
      config: {
        auth: { keys: [{ name: 'ops', key, scopes: ['admin'] }] },
        rest: { profiles: { 'ilab-ui': { listen: { host: '127.0.0.1', port: 0 }, auth: 'none' } } },
        plugins: { ilab: await fake.config() },
      },
    });
    open = bp.daemon.addresses!.rest['127.0.0.1:0'];
  });
  afterAll(async () => {
    try {
      await bp.stop();
    } finally {
      await fake.cleanup();
    }
  });

  test('its listener answers GET /models without a key, as the Go server did', async () => {
    const models = await fetch(`${open}/models`);
    expect(models.status).toBe(200);
    expect(models.headers.get('content-type')).toBe('application/json');
    const body = await models.text();
    expect(JSON.parse(body).map((m: { name: string }) => m.name)).toEqual(['granite-7b-lab-Q4_K_M.gguf', 'instructlab/granite-7b-lab', 'models/granite-8b-starter-v1']);
    // Its wire is Go's too: an absolute-form target is served as its path.
    const absolute = await rawExchange(open, 'GET http://127.0.0.1:8080/models HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n');
    expect(absolute.statusLine).toBe('HTTP/1.1 200 OK');
    expect(absolute.body).toBe(body);
  });

  test('reads and writes need no key there', async () => {
    const jobs = await fetch(`${open}/jobs`);
    expect(jobs.status).toBe(200);
    expect(await jobs.text()).toBe('null\n');
    const touch = await fetch(`${open}/ui-touch`, { method: 'POST', body: '{"name":"x"}' });
    expect(touch.status).toBe(200);
    expect(await touch.text()).toBe('{"status":"touched x"}\n');
  });

  test('but grants no admin, and serves no GraphQL and no metrics', async () => {
    const wipe = await fetch(`${open}/ui-wipe`, { method: 'POST' });
    expect(wipe.status).toBe(403);
    expect(await wipe.text()).toBe("Forbidden: this operation needs the 'admin' scope\n");
    for (const target of ['/graphql', '/metrics']) {
      const response = await fetch(`${open}${target}`);
      expect(response.status, target).toBe(404);
      expect(await response.text()).toBe('404 page not found\n');
    }
  });

  test('the main listener keeps requiring keys: /graphql, /metrics and the other profiles', async () => {
    const graphql = await bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ plugins { id } }"}' });
    expect(graphql.status).toBe(401);
    expect((await graphql.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await bp.request('/metrics')).status).toBe(401);
    const rest = await bp.request('/api/things/x');
    expect(rest.status).toBe(401);
    expect((await bp.request('/api/things/x', { headers: { 'x-api-key': key } })).status).toBe(200);
    expect((await bp.gql('{ plugins { id } }', {}, { apiKey: key })).data.plugins.map((p: { id: string }) => p.id)).toContain('ui-routes');
  });

  test('the profile moved to its listener: the main one does not serve its routes, with or without a key', async () => {
    for (const target of ['/jobs', '/models']) {
      const response = await bp.request(target, { headers: { 'x-api-key': key } });
      expect(response.status, target).toBe(404);
      expect(response.headers.get('content-type'), target).toMatch(/json/); // llamactl's 404, not Go's
    }
  });
});

describe("config check refuses auth: 'none' anywhere but a loopback listener", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bp-open-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const check = async (name: string, config: unknown) => {
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(file, YAML.stringify(config));
    return execa(process.execPath, ['core/main.ts', 'config', 'check', '--config', file], { reject: false, env: { BACKPLANE_DATA_DIR: dir } });
  };
  const keys = { keys: [{ name: 'ops', keyEnv: 'BP_OPS_KEY', scopes: ['admin'] }] };

  test('a non-loopback host is an error naming the key and the reason', async () => {
    const result = await check('public', { auth: keys, rest: { profiles: { 'ilab-ui': { listen: { host: '0.0.0.0', port: 8090 }, auth: 'none' } } } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("rest.profiles.ilab-ui.listen.host: auth 'none' serves this profile without API keys, so it may only listen on loopback (127.0.0.1, ::1 or localhost), not '0.0.0.0'");
  });

  test('without its own listener it would open the main one: an error too', async () => {
    const result = await check('main', { auth: keys, rest: { profiles: { 'ilab-ui': { auth: 'none' } } } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("rest.profiles.ilab-ui.auth: 'none' needs the profile's own loopback listener: add listen: { host: 127.0.0.1, port: <port> } (the main listener keeps its API keys)");
  });

  test('profiles sharing a listener must agree; a loopback opt-in passes', async () => {
    const shared = await check('shared', { rest: { profiles: { 'ilab-ui': { listen: { host: '127.0.0.1', port: 8090 }, auth: 'none' }, llamactl: { listen: { host: '127.0.0.1', port: 8090 } } } } });
    expect(shared.exitCode).toBe(1);
    expect(shared.stderr).toContain("rest.profiles.llamactl.auth: 'keys' differs from 'none' of profile 'ilab-ui', which shares the listener 127.0.0.1:8090");
    const good = await check('good', { rest: { profiles: { 'ilab-ui': { listen: { host: '127.0.0.1', port: 8090 }, auth: 'none' } } } });
    expect(good.stderr).toBe('');
    expect(good.exitCode).toBe(0);
    expect(good.stdout).toContain('auth: none');
  });
});
