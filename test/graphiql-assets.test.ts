import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rawExchange } from './helpers/raw-http.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const manifest = createRequire(import.meta.url).resolve('@graphql-yoga/graphiql/package.json');
const dist = path.join(path.dirname(manifest), 'dist');
const key = 'k'.repeat(32);

describe('GraphiQL is served from the daemon, with API keys configured', () => {
  let bp: TestDaemon;
  let html: string;
  beforeAll(async () => {
    bp = await startTestDaemon({ config: { auth: { keys: [{ name: 'ci', key, scopes: ['read'] }] } } });
    const page = await bp.request('/graphql', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    html = await page.text();
  });
  afterAll(() => bp.stop());

  test('the page names no other host and loads everything from /graphql/assets/', () => {
    expect(html).not.toMatch(/(?:src|href)=["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/unpkg|githubusercontent|__TITLE__/);
    expect(html).toContain('<title>backplane</title>');
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1];
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).not.toMatch(/https?:/);
  });

  test('every asset the page names is the package file, typed and cacheable, without a key', async () => {
    const urls = [...html.matchAll(/\/graphql\/assets\/[^"' ]+/g)].map((m) => m[0]);
    expect(urls.map((u) => path.posix.basename(u)).sort()).toEqual(['editor.worker.js', 'graphiql.css', 'graphql.worker.js', 'json.worker.js', 'yoga-graphiql.umd.js']);
    const files: Record<string, string> = {
      'graphiql.css': 'graphiql.css',
      'yoga-graphiql.umd.js': 'yoga-graphiql.umd.js',
      'editor.worker.js': 'monacoeditorwork/editor.worker.bundle.js',
      'json.worker.js': 'monacoeditorwork/json.worker.bundle.js',
      'graphql.worker.js': 'monacoeditorwork/graphql.worker..bundle.js',
    };
    for (const url of urls) {
      const name = path.posix.basename(url);
      const response = await bp.request(url);
      expect(response.status, url).toBe(200);
      expect(response.headers.get('content-type')).toBe(name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(Buffer.from(await response.arrayBuffer()).equals(await readFile(path.join(dist, files[name]))), url).toBe(true);
    }
    const head = await bp.request(urls[0], { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
  });

  test('nothing else is reachable under the assets path', async () => {
    const version = /\/graphql\/assets\/([^/]+)\//.exec(html)![1];
    for (const target of [`/graphql/assets/${version}/nope.js`, '/graphql/assets/0.0.0/graphiql.css', `/graphql/assets/${version}/%2e%2e/package.json`, `/graphql/assets/${version}/monacoeditorwork/json.worker.bundle.js`]) {
      const response = await bp.request(target);
      expect(response.status, target).toBe(404);
    }
    // A raw request line, so no client normalises the `..` away.
    const raw = await rawExchange(bp.url, `GET /graphql/assets/${version}/../../package.json HTTP/1.1\r\nhost: backplane\r\nconnection: close\r\n\r\n`);
    expect(raw.statusLine).not.toMatch(/ 200 /);
    expect(raw.body).not.toContain('"name": "@graphql-yoga/graphiql"');
    const post = await bp.request(`/graphql/assets/${version}/graphiql.css`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ plugins { id } }"}' });
    expect(post.status).toBe(405);
    expect(await post.text()).not.toContain('plugins');
  });

  test('queries from the page still need the key (GraphiQL headers editor)', async () => {
    const post = (headers: Record<string, string>) => bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"query":"{ plugins { id } }"}' });
    expect((await post({})).status).toBe(401);
    const allowed = await post({ authorization: `Bearer ${key}` });
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({ data: { plugins: [] } });
  });
});

test('with server.graphiql off there is neither page nor assets', async () => {
  const bp = await startTestDaemon({ config: { server: { graphiql: false } } });
  try {
    const page = await bp.request('/graphql', { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('<html');
    const asset = await bp.request('/graphql/assets/4.5.0/graphiql.css');
    expect(asset.status).toBe(404);
  } finally {
    await bp.stop();
  }
});
