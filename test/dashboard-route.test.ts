import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configSchema } from '../core/config/schema.ts';
import { createDashboardRoute } from '../core/http/dashboard-route.ts';
import { definePlugin } from '../core/plugin-api.ts';
import { dashboardTestPlugin } from './helpers/dashboard-test-plugin.ts';
import { ensureDashboardBuilt } from './helpers/offline-browser.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

describe('the dashboard on the main listener', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    ensureDashboardBuilt();
    bp = await startTestDaemon({ plugins: [dashboardTestPlugin] });
  });
  afterAll(() => bp.stop());

  test('the page at / with a strict CSP, revalidated; its hashed assets cached as immutable', async () => {
    const page = await bp.request('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="\.\/(dashboard-assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    // Nothing from anywhere else.
    expect(html).not.toMatch(/https?:\/\//);
    for (const asset of assets) {
      const response = await bp.request(`/${asset}`, { headers: { 'accept-encoding': 'identity' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('content-type')).toMatch(/^text\/(javascript|css)/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect((await response.arrayBuffer()).byteLength).toBe(Number(response.headers.get('content-length')));
    }
    // gzip when the browser accepts it (pre-compressed at build time).
    const script = assets.find((a) => a.endsWith('.js'))!;
    const zipped = await bp.request(`/${script}`, { headers: { 'accept-encoding': 'gzip, deflate' } });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(zipped.headers.get('vary')).toBe('accept-encoding');
    expect(zipped.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await zipped.text()).length).toBeGreaterThan(Number(zipped.headers.get('content-length')));
    expect((await bp.request(`/${script}.gz`)).status).toBe(404);
    const head = await bp.request(`/${assets[0]}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await bp.request('/dashboard-assets/../../package.json')).status).toBe(404);
    expect((await bp.request('/dashboard-assets/nope.js')).status).toBe(404);
  });

  test('it shadows none of the daemon’s own paths nor REST routes', async () => {
    expect((await bp.request('/healthz')).status).toBe(200);
    expect((await bp.request('/readyz')).status).toBe(200);
    expect((await bp.request('/metrics')).status).toBe(200);
    const graphiql = await bp.request('/graphql', { headers: { accept: 'text/html' } });
    expect(await graphiql.text()).toContain('GraphiQL');
    expect((await bp.gql('{ plugins { id } }')).data.plugins.map((p: { id: string }) => p.id)).toContain('dashboard-probe');
    // The ilab-ui job list (core's REST route at /jobs) and the REST 404 for other paths.
    const jobs = await bp.request('/jobs');
    expect(jobs.status).toBe(200);
    expect(jobs.headers.get('content-type')).toBe('application/json');
    expect(jobs.headers.get('content-security-policy')).toBeNull();
    expect((await bp.request('/no-such-route')).status).toBe(404);
    // Only GET and HEAD of the page are the dashboard's.
    expect((await bp.request('/', { method: 'POST', body: '{}' })).headers.get('content-security-policy')).toBeNull();
  });

  test('plugins’ pages: listed and served under /dashboard-plugins/<id>/', async () => {
    const list = await bp.request('/dashboard-plugins/');
    expect(await list.json()).toEqual({ pages: [{ id: 'dashboard-probe', title: 'Probe page', url: '/dashboard-plugins/dashboard-probe/probe-page.js' }] });
    const module = await bp.request('/dashboard-plugins/dashboard-probe/probe-page.js');
    expect(module.status).toBe(200);
    expect(module.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await module.text()).toContain('export default function mount');
    expect((await bp.request('/dashboard-plugins/dashboard-probe/other.js')).status).toBe(404);
    expect((await bp.request('/dashboard-plugins/nobody/probe-page.js')).status).toBe(404);
  });
});

describe('dashboard config', () => {
  test('a path like /ui: the page there (and /ui redirects to /ui/), / is left to REST', async () => {
    const bp = await startTestDaemon({ config: { dashboard: { path: '/ui' } } });
    try {
      const redirect = await bp.request('/ui?x=1', { redirect: 'manual' });
      expect(redirect.status).toBe(301);
      expect(redirect.headers.get('location')).toBe('/ui/?x=1');
      expect((await bp.request('/ui/')).status).toBe(200);
      expect((await bp.request('/')).status).toBe(404);
    } finally {
      await bp.stop();
    }
  });

  test('disabled: nothing at /', async () => {
    const bp = await startTestDaemon({ config: { dashboard: { enabled: false } } });
    try {
      const response = await bp.request('/');
      expect(response.status).toBe(404);
      expect(response.headers.get('content-security-policy')).toBeNull();
    } finally {
      await bp.stop();
    }
  });

  test('paths of the daemon’s own are refused', () => {
    expect(configSchema.safeParse({ dashboard: { path: '/graphql' } }).success).toBe(false);
    expect(configSchema.safeParse({ dashboard: { path: 'ui' } }).success).toBe(false);
    expect(configSchema.parse({}).dashboard).toEqual({ enabled: true, path: '/' });
  });

  test('a plugin page that is not a local ES module stops the boot with a coded error', async () => {
    const bad = definePlugin({ id: 'bad-page', version: '1.0.0', dashboard: { title: 'Bad', module: 'https://cdn.example.com/page.js' } });
    await expect(startTestDaemon({ plugins: [bad] })).rejects.toMatchObject({ code: 'BP_ERR_PLUGIN_INVALID' });
  });
});

describe('a checkout whose dashboard is not built', () => {
  let server: Server;
  let url: string;
  let dist: string;
  beforeAll(async () => {
    dist = await mkdtemp(path.join(os.tmpdir(), 'bp-dist-'));
    const handle = createDashboardRoute({ path: '/', plugins: [], claimedByRest: () => false, distDir: dist });
    server = createServer(async (req, res) => {
      if ((await handle(req, res, new URL(req.url ?? '/', 'http://x'))) === undefined) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.close();
    await rm(dist, { recursive: true, force: true });
  });

  test('answers 503 saying how to build it, and serves the build once it exists', async () => {
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('npm run build:dashboard');
    expect((await fetch(`${url}/dashboard-assets/index.js`)).status).toBe(404);
    await writeFile(path.join(dist, 'index.html'), '<!doctype html><title>built</title>');
    const built = await fetch(`${url}/`);
    expect(built.status).toBe(200);
    expect(await built.text()).toContain('built');
  });
});
