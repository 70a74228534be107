import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin } from '../core/plugin-api.ts';
import { trainingPlugin } from '../plugins/training/index.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const keys = { reader: 'r'.repeat(32), operator: 'o'.repeat(32), admin: 'a'.repeat(32) };
const auth = {
  keys: [
    { name: 'reader', key: keys.reader, scopes: ['read' as const] },
    { name: 'operator', key: keys.operator, scopes: ['operate' as const] },
    { name: 'admin', key: keys.admin, scopes: ['admin' as const] },
  ],
};

/** A stand-in for tinker's `/api/v1/health` on its own profile, mounted at `/`. */
const tinkerHealth = definePlugin({
  id: 'tinker-health',
  version: '1.0.0',
  operations: ['query TinkerHealthProbe { tinkerHealthProbe }'],
  schema(builder) {
    builder.queryField('tinkerHealthProbe', (t) => t.string({ resolve: () => 'ok' }));
  },
  rest(routes) {
    routes.add({ profile: 'tinker', method: 'GET', path: '/api/v1/health', operation: 'TinkerHealthProbe', reply: () => ({ json: { status: 'ok', from: 'tinker' } }) });
  },
});

describe('the training-manager REST profile', () => {
  it('mounts at /training-manager by default, so tinker’s /api/v1/health lives beside it with no configuration', async () => {
    const bp = await startTestDaemon({ plugins: [trainingPlugin, tinkerHealth] });
    try {
      expect(await (await bp.request('/api/v1/health')).json()).toEqual({ status: 'ok', from: 'tinker' });
      expect(await (await bp.request('/training-manager/api/v1/health')).json()).toMatchObject({ status: 'healthy' });
      const unknown = await bp.request('/training-manager/api/v1/nothing');
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({ detail: 'Not Found' });
    } finally {
      await bp.stop();
    }
  });

  it.skipIf(!existsSync(new URL('../plugins/tinker/index.ts', import.meta.url)))('runs beside the real tinker plugin, each answering its own /api/v1/health', async () => {
    const { tinkerPlugin } = await import('../plugins/tinker/index.ts');
    const bp = await startTestDaemon({ plugins: [tinkerPlugin, trainingPlugin] });
    try {
      const tinker = await bp.request('/api/v1/health');
      expect(tinker.status).toBe(200);
      expect(await tinker.json()).toMatchObject({ status: 'healthy' });
      expect(await (await bp.request('/training-manager/api/v1/health')).json()).toEqual({ status: 'healthy', version: '1.0.0', environment: 'production' });
      // Each is its own: tinker's health is not the training manager's shape.
      expect(await (await bp.request('/api/v1/health')).json()).not.toHaveProperty('environment');
    } finally {
      await bp.stop();
    }
  });

  it('serves at the configured prefix instead', async () => {
    const bp = await startTestDaemon({ plugins: [trainingPlugin], config: { rest: { profiles: { 'training-manager': { prefix: '/mtm' } } } } });
    try {
      expect((await bp.request('/mtm/api/v1/health')).status).toBe(200);
      expect((await bp.request('/training-manager/api/v1/health')).status).toBe(404);
    } finally {
      await bp.stop();
    }
  });
});

describe('training scopes', () => {
  let bp: TestDaemon;
  const call = (path: string, key: string | undefined, init: RequestInit = {}) =>
    bp.request(`/training-manager/api/v1${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), ...(key ? { authorization: `Bearer ${key}` } : {}) } });
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [trainingPlugin], config: { auth } });
  });
  afterAll(() => bp?.stop());

  it('needs a key to read, operate to change, admin for the config', async () => {
    expect((await call('/workers/', undefined)).status).toBe(401);
    expect((await call('/workers/', keys.reader)).status).toBe(200);
    const start = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'stop' }) };
    expect((await call('/workers/', keys.reader, start)).status).toBe(403);
    expect((await call('/workers/', keys.operator, start)).status).toBe(200);
    const patch = { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ default_epochs: 2 }) };
    expect((await call('/config/', keys.operator, patch)).status).toBe(403);
    expect((await call('/config/', keys.admin, patch)).status).toBe(200);
    const form = new FormData();
    form.append('name', 'x');
    form.append('file', new Blob(['text\nhi\n']), 'x.csv');
    expect((await call('/datasets/', keys.reader, { method: 'POST', body: form })).status).toBe(403);
    const gql = await bp.gql('mutation { controlTrainingWorkers(action: stop) { totalWorkers } }', {}, { apiKey: keys.reader });
    expect(gql.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});
