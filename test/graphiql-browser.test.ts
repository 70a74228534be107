import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin } from '../core/plugin-api.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

// Debian's chromium (scripts/install-test-deps.sh); playwright never downloads a browser here.
const executablePath = '/usr/bin/chromium';
const haveChromium = existsSync(executablePath);
const flags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const key = 'g'.repeat(32);

const probe = definePlugin({
  id: 'graphiql-probe',
  version: '1.0.0',
  schema(builder) {
    builder.queryField('probeAnswer', (t) => t.int({ resolve: () => 42 }));
    builder.subscriptionField('probeCountdown', (t) =>
      t.int({
        subscribe: async function* () {
          for (let n = 3; n > 0; n--) yield n;
        },
        resolve: (n: number) => n,
      }),
    );
  },
});

const isLoopback = (url: string) => {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:' || protocol === 'about:') return true;
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
};

/** A browser context that may reach this host only, recording every request and script error. */
async function offlineContext(browser: Browser) {
  const context = await browser.newContext();
  const outside: string[] = [];
  const requested: string[] = [];
  const problems: string[] = [];
  // Every request, the page's and its workers', is answered only when it stays on this host.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLoopback(url)) return route.continue();
    outside.push(url);
    return route.abort('internetdisconnected');
  });
  context.on('request', (request) => requested.push(request.url()));
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { context, page, outside, requested, problems };
}

/** Replaces the text of a Monaco editor the way a user's paste would. */
async function setEditorText(page: Page, editor: ReturnType<Page['locator']>, text: string) {
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

async function openGraphiQL(page: Page, url: string) {
  const response = await page.goto(`${url}/graphql`);
  expect(response?.status()).toBe(200);
  const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
  await editor.waitFor({ state: 'visible', timeout: 60_000 });
  expect(await page.locator('#root').textContent()).not.toMatch(/^Loading/);
  return editor;
}

async function run(page: Page, editor: ReturnType<Page['locator']>, query: string, expected: RegExp): Promise<string> {
  await setEditorText(page, editor, query);
  await page.keyboard.press('ControlOrMeta+Enter');
  const result = page.locator('.graphiql-response');
  await expect.poll(async () => (await result.textContent()) ?? '', { timeout: 60_000 }).toMatch(expected);
  return (await result.textContent()) ?? '';
}

describe.skipIf(!haveChromium)(`GraphiQL in headless Chromium, offline${haveChromium ? '' : ` (skipped: ${executablePath} is missing; run scripts/install-test-deps.sh)`}`, () => {
  let browser: Browser;
  const daemons: TestDaemon[] = [];
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath, args: flags });
  });
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    for (const bp of daemons) await bp.stop();
  });

  test('the page renders from the daemon alone and runs a typed query', async () => {
    const bp = await startTestDaemon({ plugins: [probe] });
    daemons.push(bp);
    const { context, page, outside, requested, problems } = await offlineContext(browser);
    contexts.push(context);

    const editor = await openGraphiQL(page, bp.url);
    const result = await run(page, editor, '{ plugins { id } probeAnswer }', /"probeAnswer":\s*42/);
    expect(result).toContain('"graphiql-probe"');
    if (process.env.BACKPLANE_GRAPHIQL_SCREENSHOT) await page.screenshot({ path: process.env.BACKPLANE_GRAPHIQL_SCREENSHOT });

    // Monaco's workers came from the daemon too (the editor's GraphQL language service).
    await expect.poll(() => requested.some((url) => /\/graphql\/assets\/[^/]+\/graphql\.worker\.js$/.test(url)), { timeout: 30_000 }).toBe(true);
    expect(outside).toEqual([]);
    expect(requested.filter((url) => !isLoopback(url))).toEqual([]);
    // No script error, and nothing the page's Content-Security-Policy had to refuse.
    expect(problems).toEqual([]);
  });

  test('with API keys the page loads without one; queries and subscriptions send it from the headers editor', async () => {
    const bp = await startTestDaemon({ plugins: [probe], config: { auth: { keys: [{ name: 'browser', key, scopes: ['read'] }] } } });
    daemons.push(bp);
    const { context, page, outside } = await offlineContext(browser);
    contexts.push(context);

    const editor = await openGraphiQL(page, bp.url);
    await run(page, editor, '{ probeAnswer }', /UNAUTHENTICATED/);
    await page.getByText('Headers', { exact: true }).click();
    await setEditorText(page, page.locator('.graphiql-editor-tool .monaco-editor').last(), `{ "Authorization": "Bearer ${key}" }`);
    await run(page, editor, '{ probeAnswer }', /"probeAnswer":\s*42/);
    // Subscriptions go over SSE (a POST), so they carry the same header.
    await run(page, editor, 'subscription { probeCountdown }', /"probeCountdown":\s*1/);
    expect(outside).toEqual([]);
  });
});
