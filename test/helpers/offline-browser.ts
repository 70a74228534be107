import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';

/** Debian's chromium (scripts/install-test-deps.sh); playwright never downloads a browser here. */
export const chromiumPath = '/usr/bin/chromium';
export const chromiumFlags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Builds dashboard/dist when this checkout has none (`npm ci` builds it; a dev checkout may not). */
export function ensureDashboardBuilt(): void {
  if (existsSync(path.join(repoRoot, 'dashboard', 'dist', 'index.html'))) return;
  execFileSync(process.execPath, [path.join(repoRoot, 'dashboard', 'build.ts')], { cwd: repoRoot, stdio: 'inherit' });
}

export function isLoopbackUrl(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:' || protocol === 'about:') return true;
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

export interface OfflinePage {
  context: BrowserContext;
  page: Page;
  /** Requests that tried to leave this host (each was aborted). */
  outside: string[];
  /** Script errors and console errors (a CSP refusal is one). */
  problems: string[];
  /** Bytes of every response body the page received. */
  bytes(): number;
}

/** A browser context that may reach this host only, recording what it asked and what went wrong. */
export async function offlinePage(browser: Browser, options: BrowserContextOptions = {}): Promise<OfflinePage> {
  const context = await browser.newContext(options);
  const outside: string[] = [];
  const problems: string[] = [];
  let bytes = 0;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLoopbackUrl(url)) return route.continue();
    outside.push(url);
    return route.abort('internetdisconnected');
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('requestfinished', (request) => {
    void request.sizes().then((sizes) => (bytes += sizes.responseBodySize + sizes.responseHeadersSize), () => undefined);
  });
  return { context, page, outside, problems, bytes: () => bytes };
}
