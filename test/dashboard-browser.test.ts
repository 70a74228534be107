import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { llamaCppPlugin } from '../plugins/llama-cpp/index.ts';
import { nvidiaSmiPlugin } from '../plugins/nvidia-smi/index.ts';
import { vllmPodmanPlugin } from '../plugins/vllm-podman/index.ts';
import { createLlamaModelRoot, freePort } from './fixtures/llama/llama-test-kit.ts';
import { createFakeNvidiaSmi, loadScenario, type FakeNvidiaSmi } from './fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { dashboardTestPlugin } from './helpers/dashboard-test-plugin.ts';
import { jobsTestPlugin } from './helpers/jobs-test-plugin.ts';
import { chromiumFlags, chromiumPath, ensureDashboardBuilt, offlinePage, type OfflinePage } from './helpers/offline-browser.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const haveChromium = existsSync(chromiumPath);
const artifacts = path.resolve('test-artifacts', 'dashboard');
const readKey = 'r'.repeat(32);
const operateKey = 'o'.repeat(32);
// llama-server's stand-in that loads for 30 s: the UI's "starting" state stays on screen (the UI,
// not llama.cpp, is under test here; test/llama-cpp.test.ts runs the real one).
const slowLlamaServer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'llama', 'fake-llama-server.mjs');

/** A job of the `steps` kind (the test plugin parses `step i/N` into progress) that runs for a while. */
const slowSteps = (steps: number, seconds: number) => ['-c', `i=1; while [ $i -le ${steps} ]; do echo "step $i/${steps} working"; i=$((i+1)); sleep ${seconds}; done`];

async function startJob(bp: TestDaemon, args: string[], apiKey?: string): Promise<string> {
  const result = await bp.gql<{ testStartJob: string }>('mutation($a: [String!]!) { testStartJob(fixture: "sh", command: "/bin/sh", kind: "steps", args: $a) }', { a: args }, { apiKey });
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.testStartJob;
}

async function shot(page: Page, name: string, fullPage = false) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage });
}

const progressOf = (page: Page) => page.getByRole('progressbar', { name: 'Job progress' }).evaluate((el) => (el as HTMLProgressElement).value);

describe.skipIf(!haveChromium)(`the dashboard in headless Chromium, offline${haveChromium ? '' : ` (skipped: ${chromiumPath} is missing; run scripts/install-test-deps.sh)`}`, () => {
  let browser: Browser;
  let fake: FakeNvidiaSmi;
  let bp: TestDaemon;
  let models: Awaited<ReturnType<typeof createLlamaModelRoot>>;
  const pages: OfflinePage[] = [];

  beforeAll(async () => {
    ensureDashboardBuilt();
    await mkdir(artifacts, { recursive: true });
    fake = await createFakeNvidiaSmi('four-mixed');
    models = await createLlamaModelRoot();
    bp = await startTestDaemon({
      plugins: [nvidiaSmiPlugin, jobsTestPlugin, dashboardTestPlugin, llamaCppPlugin, vllmPodmanPlugin],
      config: {
        plugins: {
          'nvidia-smi': { bin: fake.bin, intervalMs: 250 },
          'llama-cpp': { llamaServerPath: slowLlamaServer, modelRoots: [models.root], healthIntervalMs: 300, startTimeoutMs: 120_000, stopTimeoutSeconds: 5, defaults: { gpuLayers: 0 } },
          // No podman on a test machine is fine: the plugin is degraded, and the page says so.
          'vllm-podman': { podmanPath: path.join(models.dir, 'no-podman') },
        },
      },
    });
    const created = await bp.gql('mutation($p: String!, $port: Int) { createLlamaInstance(input: { name: "tiny-chat", modelPath: $p, port: $port }) { name } }', { p: models.model, port: await freePort() });
    if (created.errors) throw new Error(JSON.stringify(created.errors));
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });
  });
  afterAll(async () => {
    for (const p of pages) await p.context.close();
    await browser?.close();
    await bp?.stop();
    await fake?.remove();
    await models?.cleanup();
  });

  const open = async (hash = '', options: Parameters<typeof offlinePage>[1] = { viewport: { width: 1280, height: 900 } }) => {
    const offline = await offlinePage(browser, options);
    pages.push(offline);
    const response = await offline.page.goto(`${bp.url}/${hash}`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    return offline;
  };

  test('the overview shows the fake host’s GPUs, live, from the daemon alone', async () => {
    // A job holding GPU 2: its lease shows who holds the card, and it is a running job.
    const result = await bp.gql<{ testStartJob: string }>('mutation($a: [String!]!) { testStartJob(fixture: "sh", command: "/bin/sh", kind: "steps", args: $a, gpuIndices: [2]) }', { a: slowSteps(100, 0.3) });
    const holder = result.data!.testStartJob;
    const { page, outside, problems } = await open();
    await expect.poll(() => page.getByRole('heading', { name: /^GPU \d/ }).count(), { timeout: 30_000 }).toBe(4);
    await expect(page.getByRole('heading', { name: 'GPU 1 NVIDIA H100 80GB HBM3' }).isVisible()).resolves.toBe(true);
    // GPU 1 runs a 60 GiB process at 97 % without a lease of ours.
    const gpu1 = page.getByRole('article', { name: /GPU 1/ });
    await expect.poll(() => gpu1.textContent(), { timeout: 30_000 }).toMatch(/60\.0 GiB \/ 79\.6 GiB.*97 %/);
    await expect.poll(() => gpu1.textContent()).toMatch(/1 process, no lease/);
    // Sparklines: a canvas per GPU, fed by gpuStats (the accessible summary counts samples).
    await expect.poll(async () => Number(/over the last (\d+) samples/.exec((await gpu1.getByRole('img').getAttribute('aria-label')) ?? '')?.[1] ?? 0), { timeout: 30_000 }).toBeGreaterThan(2);
    expect(await page.locator('.gpu canvas').count()).toBe(4);
    await expect(page.getByText('nvidia-smi').first().isVisible()).resolves.toBe(true);
    await page.getByRole('article', { name: /GPU 2/ }).getByRole('link', { name: `job ${holder}` }).waitFor({ timeout: 30_000 });
    const running = page.getByRole('region', { name: 'Running jobs' });
    await running.getByRole('link', { name: holder }).waitFor();
    await expect.poll(() => running.getByRole('progressbar', { name: `Progress of ${holder}` }).evaluate((el) => (el as HTMLProgressElement).value), { timeout: 30_000 }).toBeGreaterThan(0.05);
    // The host gets busy: GPU 0 climbs, sample by sample, and its card follows live.
    const scenario = await loadScenario('four-mixed');
    const gpu0 = page.getByRole('article', { name: /GPU 0/ });
    for (const [utilization, usedMiB] of [[20, 9000], [45, 21000], [70, 38000], [90, 52000], [85, 61000], [95, 64000]]) {
      const gpus = scenario.gpus!.map((g) => (g.index === '0' ? { ...g, 'utilization.gpu': `${utilization} %`, 'memory.used': `${usedMiB} MiB`, 'memory.free': `${81559 - usedMiB} MiB` } : g));
      await fake.use({ ...scenario, gpus });
      await expect.poll(() => gpu0.textContent(), { timeout: 30_000 }).toContain(`Utilisation${utilization} %`);
    }
    await shot(page, 'overview', true);
    await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id: holder });
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('a job started through the API appears live, its log streams, its progress moves, and cancel works', async () => {
    const { page, outside, problems } = await open('#/jobs');
    await expect.poll(() => page.getByRole('heading', { name: 'Jobs', level: 1 }).count()).toBe(1);
    const id = await startJob(bp, slowSteps(40, 0.4));
    // Arrives through jobUpdated, without a reload.
    const link = page.getByRole('link', { name: id });
    await link.waitFor({ timeout: 30_000 });
    await page.getByRole('row', { name: new RegExp(id) }).getByText('running').waitFor({ timeout: 30_000 });
    await shot(page, 'jobs');

    await link.click();
    await page.getByRole('heading', { name: new RegExp(`Job ${id}`) }).waitFor();
    const log = page.getByRole('log', { name: `Log of ${id}` });
    await log.getByText(/step 2\/40 working/).waitFor({ timeout: 30_000 });
    // New lines keep arriving over the subscription.
    await log.getByText(/step 6\/40 working/).waitFor({ timeout: 30_000 });
    const before = await progressOf(page);
    await expect.poll(() => progressOf(page), { timeout: 30_000 }).toBeGreaterThan(before);
    await page.getByRole('heading', { name: 'Progress over time' }).waitFor({ timeout: 30_000 });
    await shot(page, 'job');

    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.getByRole('button', { name: 'Yes, cancel the job' }).click();
    await page.getByRole('heading', { name: new RegExp(`Job ${id}`) }).getByText('cancelled').waitFor({ timeout: 30_000 });
    expect((await bp.gql('query($id: ID!) { job(id: $id) { status } }', { id })).data.job.status).toBe('cancelled');
    await expect(page.getByRole('button', { name: 'Cancel job' }).count()).resolves.toBe(0);
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('servers by plugin: a llama.cpp instance started, followed and stopped from the page; a degraded plugin says why', async () => {
    const { page, outside, problems } = await open('#/servers');
    const llama = page.getByRole('region', { name: 'llama.cpp instances' });
    const row = llama.getByRole('row', { name: /tiny-chat/ });
    await row.getByText('stopped').waitFor({ timeout: 30_000 });
    await page.getByRole('region', { name: 'vLLM servers (podman)' }).getByRole('alert').getByText(/UNAVAILABLE/).waitFor({ timeout: 30_000 });
    await row.getByRole('button', { name: 'Start tiny-chat' }).click();
    // Live over llamaInstanceUpdated: starting while the model loads.
    await row.getByText('starting').waitFor({ timeout: 30_000 });
    await row.getByRole('button', { name: 'Logs of tiny-chat' }).click();
    await page.getByRole('log', { name: 'Log of tiny-chat' }).getByText(/loading model/).waitFor({ timeout: 30_000 });
    await shot(page, 'servers');
    await row.getByRole('button', { name: 'Stop tiny-chat' }).click();
    await row.getByText('stopped').waitFor({ timeout: 30_000 });
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('the jobs list filters by status, plugin and kind (in the URL)', async () => {
    const done = await startJob(bp, ['-c', 'echo step 1/1']);
    const { page } = await open('#/jobs?status=succeeded&plugin=jobs-test&kind=steps');
    await page.getByRole('link', { name: done }).waitFor({ timeout: 30_000 });
    expect(await page.getByRole('combobox', { name: 'Status' }).inputValue()).toBe('succeeded');
    await page.getByRole('combobox', { name: 'Status' }).selectOption('failed');
    await expect.poll(() => page.getByRole('link', { name: done }).count()).toBe(0);
    expect(page.url()).toContain('status=failed');
  });

  test('a long log: the page holds a tail, follows, and loads earlier lines on request', async () => {
    const id = await startJob(bp, ['-c', 'i=1; while [ $i -le 6000 ]; do echo "line $i"; i=$((i+1)); done']);
    await expect.poll(async () => (await bp.gql('query($id: ID!) { job(id: $id) { status } }', { id })).data.job.status, { timeout: 30_000 }).toBe('succeeded');
    const { page, problems } = await open(`#/jobs/${id}`);
    const log = page.getByRole('log', { name: `Log of ${id}` });
    await log.getByText('line 6000', { exact: true }).waitFor({ timeout: 30_000 });
    // Virtualised: a few dozen rows in the DOM, not 500.
    expect(await log.locator('.log-line').count()).toBeLessThan(120);
    await page.getByText('500 lines held').waitFor();
    await page.getByRole('button', { name: 'Load 2000 earlier lines' }).click();
    await page.getByText('2,500 lines held').waitFor({ timeout: 30_000 });
    // The view stays on the lines it showed; the earlier ones are above.
    await log.getByText('line 6000', { exact: true }).waitFor();
    await log.evaluate((el) => (el.scrollTop = 0));
    await log.getByText('line 3501', { exact: true }).waitFor();
    for (let i = 0; i < 2; i++) await page.getByRole('button', { name: /earlier lines/ }).click();
    await page.getByRole('button', { name: 'Beginning of log' }).waitFor({ timeout: 30_000 });
    await page.getByText('6,000 lines held').waitFor();
    await log.evaluate((el) => (el.scrollTop = 0));
    await log.getByText('line 1', { exact: true }).waitFor();
    expect(problems).toEqual([]);
  });

  test('a plugin page from the plugin contract loads from the daemon and queries with the page’s key', async () => {
    const { page, outside, problems } = await open();
    await page.getByRole('link', { name: 'Probe page' }).click();
    await page.getByText('The daemon says: probe ok').waitFor({ timeout: 30_000 });
    await expect(page.getByRole('heading', { name: 'Probe page' }).count()).resolves.toBe(1);
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('at phone width (390 px) the overview fits and the navigation works by keyboard', async () => {
    const { page, problems } = await open('', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
    await expect.poll(() => page.getByRole('heading', { name: /^GPU \d/ }).count(), { timeout: 30_000 }).toBe(4);
    // Nothing wider than the screen: no sideways scrolling of the page itself.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot(page, 'overview-phone');
    // Tab from the top: the skip link first, then the pages.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.getByRole('link', { name: 'Jobs', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    expect(problems).toEqual([]);
  });
});

describe.skipIf(!haveChromium)('the dashboard with API keys', () => {
  let browser: Browser;
  let bp: TestDaemon;
  let models: Awaited<ReturnType<typeof createLlamaModelRoot>>;
  const pages: OfflinePage[] = [];

  beforeAll(async () => {
    ensureDashboardBuilt();
    await mkdir(artifacts, { recursive: true });
    models = await createLlamaModelRoot();
    bp = await startTestDaemon({
      plugins: [jobsTestPlugin, dashboardTestPlugin, llamaCppPlugin],
      config: {
        auth: { keys: [{ name: 'viewer', key: readKey, scopes: ['read'] }, { name: 'ops', key: operateKey, scopes: ['operate'] }] },
        plugins: { 'llama-cpp': { llamaServerPath: slowLlamaServer, modelRoots: [models.root] } },
      },
    });
    const created = await bp.gql('mutation($p: String!, $port: Int) { createLlamaInstance(input: { name: "tiny-chat", modelPath: $p, port: $port }) { name } }', { p: models.model, port: await freePort() }, { apiKey: operateKey });
    if (created.errors) throw new Error(JSON.stringify(created.errors));
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });
  });
  afterAll(async () => {
    for (const p of pages) await p.context.close();
    await browser?.close();
    await bp?.stop();
    await models?.cleanup();
  });

  const signIn = async (page: Page, key: string) => {
    await page.getByLabel('Key').fill(key);
    await page.getByRole('button', { name: 'Use key' }).click();
  };

  test('the page asks for a key; a read key follows a job live but sees no cancel button; an operate key does', async () => {
    const id = await startJob(bp, slowSteps(60, 0.5), operateKey);
    const offline = await offlinePage(browser, { viewport: { width: 1280, height: 900 } });
    pages.push(offline);
    const { page, outside, problems } = offline;
    await page.goto(`${bp.url}/#/jobs/${id}`);
    await page.getByRole('heading', { name: 'API key' }).waitFor({ timeout: 30_000 });
    await shot(page, 'api-key');
    await signIn(page, 'w'.repeat(32));
    await page.getByText('The daemon refused that key.').waitFor({ timeout: 30_000 });

    await signIn(page, readKey);
    await page.getByRole('heading', { name: new RegExp(`Job ${id}`) }).waitFor({ timeout: 30_000 });
    await page.getByText('read only').waitFor();
    // The log streams over graphql-ws, authenticated by the key in connection_init.
    await page.getByRole('log', { name: `Log of ${id}` }).getByText(/step 3\/60 working/).waitFor({ timeout: 30_000 });
    expect(await page.getByRole('button', { name: 'Cancel job' }).count()).toBe(0);
    // Nor Start, Stop or Restart on the servers page.
    await page.getByRole('link', { name: 'Servers' }).click();
    await page.getByRole('region', { name: 'llama.cpp instances' }).getByRole('row', { name: /tiny-chat/ }).getByText('stopped').waitFor({ timeout: 30_000 });
    expect(await page.getByRole('button', { name: /^(Start|Stop|Restart) / }).count()).toBe(0);
    // The plugin page is told the scopes too.
    await page.getByRole('link', { name: 'Probe page' }).click();
    await page.getByText('The daemon says: probe ok').waitFor({ timeout: 30_000 });
    expect(await page.getByRole('button', { name: 'An operator action' }).count()).toBe(0);
    expect(await page.evaluate(() => sessionStorage.getItem('backplane.dashboard.apiKey'))).toBe(readKey);

    await page.getByRole('button', { name: 'Forget key' }).click();
    await signIn(page, operateKey);
    await page.goto(`${bp.url}/#/jobs/${id}`);
    await page.getByRole('button', { name: 'Cancel job' }).waitFor({ timeout: 30_000 });
    await page.getByRole('link', { name: 'Servers' }).click();
    await page.getByRole('button', { name: 'Start tiny-chat' }).waitFor({ timeout: 30_000 });
    expect(outside).toEqual([]);
    // The refused key's 401 is the one error the console may show.
    expect(problems.filter((p) => !/401/.test(p))).toEqual([]);
    await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id }, { apiKey: operateKey });
  });
});
