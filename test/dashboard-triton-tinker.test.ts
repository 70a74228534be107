import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tinkerPlugin } from '../plugins/tinker/index.ts';
import { tritonPlugin } from '../plugins/triton/index.ts';
import { FakeTriton, writeFakeModel } from './helpers/fake-triton.ts';
import { chromiumFlags, chromiumPath, ensureDashboardBuilt, offlinePage, type OfflinePage } from './helpers/offline-browser.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { textDatum, TinkerSdk } from './helpers/tinker-sdk.ts';

/**
 * The dashboard's Triton panel (two fake Triton servers, test/helpers/fake-triton.ts) and its
 * tinker training page (a real TinyLM worker trained through the Tinker REST API by the SDK
 * emulator), in Debian's headless Chromium with every non-loopback request blocked.
 */
const haveChromium = existsSync(chromiumPath);
const artifacts = path.resolve('test-artifacts', 'dashboard');
const readKey = 'r'.repeat(32);
const operateKey = 'o'.repeat(32);
const corpus = ['hello world', 'hello there', 'help the world', 'the world says hello'];

async function shot(page: Page, name: string, fullPage = false) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage });
}

/** Steps plotted, from the loss chart's text alternative. */
const plottedSteps = async (page: Page, modelId: string) => Number(/: (\d+) steps plotted/.exec((await page.getByRole('img', { name: new RegExp(`^Loss of ${modelId}`) }).getAttribute('aria-label').catch(() => '')) ?? '')?.[1] ?? 0);

describe.skipIf(!haveChromium)(`the dashboard’s Triton and tinker panels in headless Chromium, offline${haveChromium ? '' : ` (skipped: ${chromiumPath} is missing)`}`, () => {
  let browser: Browser;
  let bp: TestDaemon;
  let tmp: string;
  const fakes: FakeTriton[] = [];
  const pages: OfflinePage[] = [];

  beforeAll(async () => {
    ensureDashboardBuilt();
    await mkdir(artifacts, { recursive: true });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'bp-dash-triton-'));
    const roots = path.join(tmp, 'roots');
    for (const name of ['one', 'two']) await mkdir(path.join(roots, name), { recursive: true });
    await writeFakeModel(path.join(roots, 'one'), 'densenet_onnx');
    await writeFakeModel(path.join(roots, 'two'), 'densenet_onnx');
    await writeFakeModel(path.join(roots, 'two'), 'resnet50', { versions: ['1', '2'], policyAll: true });
    // t1 loads slowly, so LOADING is on screen before READY; t2 serves resnet50 from the start.
    fakes.push(await new FakeTriton({ repository: path.join(roots, 'one'), loadDelayMs: 4000 }).start());
    fakes.push(await new FakeTriton({ repository: path.join(roots, 'two'), loadAtStart: ['resnet50'] }).start());
    bp = await startTestDaemon({
      plugins: [tritonPlugin, tinkerPlugin],
      config: {
        auth: { keys: [{ name: 'viewer', key: readKey, scopes: ['read'] }, { name: 'ops', key: operateKey, scopes: ['operate'] }] },
        plugins: { triton: { repositoryRoots: [roots], probeIntervalMs: 1000, requestTimeoutMs: 1000 } },
      },
    });
    for (const [i, f] of fakes.entries()) {
      const registered = await bp.gql('mutation($i: RegisterTritonServerInput!) { registerTritonServer(input: $i) { id } }', { i: { host: '127.0.0.1', httpPort: f.port, metricsPort: f.metricsPort, gpus: 1, repositoryPath: path.join(roots, i === 0 ? 'one' : 'two') } }, { apiKey: operateKey });
      if (registered.errors) throw new Error(JSON.stringify(registered.errors));
    }
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });
  });
  afterAll(async () => {
    for (const p of pages) await p.context.close();
    await browser?.close();
    await bp?.stop();
    for (const f of fakes) await f.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** A fresh tab on `hash`, signed in with `key` (session storage is per tab). */
  const open = async (hash: string, key: string, viewport = { width: 1280, height: 900 }) => {
    const offline = await offlinePage(browser, { viewport });
    pages.push(offline);
    await offline.page.goto(`${bp.url}/${hash}`);
    await offline.page.getByLabel('Key').fill(key);
    await offline.page.getByRole('button', { name: 'Use key' }).click();
    return offline;
  };
  // Signing in starts with one 401 (the page asks before it has a key): the only error allowed.
  const realProblems = (problems: string[]) => problems.filter((p) => !/401/.test(p));

  test('Triton: both servers with health, latency and GPU metrics; a model turns READY after Load; the overview lists them', async () => {
    const { page, outside, problems } = await open('#/servers', operateKey);
    const panel = page.getByRole('region', { name: 'Triton Inference Servers' });
    const t1 = panel.getByRole('article', { name: /^Triton t1/ });
    const t2 = panel.getByRole('article', { name: /^Triton t2/ });
    await t1.getByRole('heading', { name: 'Triton t1 READY' }).waitFor({ timeout: 30_000 });
    await t2.getByRole('heading', { name: 'Triton t2 READY' }).waitFor({ timeout: 30_000 });
    await expect.poll(() => t1.textContent()).toMatch(/Probe latency · checked\d+\.\d ms/);
    // GPU figures come from each server's Prometheus metrics (the fake's: 50 %, 0.9 of 15.8 GiB, 55 W).
    const utilisation = t1.getByRole('progressbar', { name: 'Utilisation of GPU 0 on t1' });
    await expect.poll(() => utilisation.evaluate((el) => (el as HTMLProgressElement).value), { timeout: 30_000 }).toBe(0.5);
    await expect.poll(() => t1.getByRole('list', { name: 'GPUs of t1' }).textContent()).toMatch(/929\.8 MiB \/ 15\.8 GiB · 55 W/);
    // Models and their version states: t2 serves both versions of resnet50, nothing is loaded on t1.
    const resnet = t2.getByRole('row', { name: /resnet50/ });
    await expect.poll(() => resnet.textContent(), { timeout: 30_000 }).toMatch(/v1 READY.*v2 READY/);
    const densenet = t1.getByRole('row', { name: /densenet_onnx/ });
    await densenet.getByText('not loaded').first().waitFor({ timeout: 30_000 });
    await t2.getByRole('button', { name: 'Unload resnet50 on t2' }).waitFor();

    await densenet.getByRole('button', { name: 'Load densenet_onnx on t1' }).click();
    // tritonModelStateChanged: LOADING while the fake loads, then version 1 READY.
    await densenet.getByText('LOADING').first().waitFor({ timeout: 30_000 });
    await densenet.getByText('READY', { exact: true }).first().waitFor({ timeout: 30_000 });
    await expect.poll(() => densenet.textContent()).toMatch(/v1 READY/);
    await densenet.getByRole('button', { name: 'Unload densenet_onnx on t1' }).waitFor({ timeout: 30_000 });
    expect(await densenet.getByRole('button', { name: /^Load / }).count()).toBe(0);
    const api = await bp.gql('{ tritonModel(serverId: "t1", name: "densenet_onnx") { ready versions { version state } } }', undefined, { apiKey: readKey });
    expect(api.data.tritonModel).toEqual({ ready: true, versions: [{ version: '1', state: 'READY' }] });
    // Still not loaded on t2: a load is per server.
    await t2.getByRole('row', { name: /densenet_onnx/ }).getByRole('button', { name: 'Load densenet_onnx on t2' }).waitFor();
    // A probe may have caught t1 not ready while it loaded; it answers ready again after.
    await t1.getByRole('heading', { name: 'Triton t1 READY' }).waitFor({ timeout: 30_000 });
    await shot(page, 'triton', true);

    // The overview's servers by plugin.
    await page.getByRole('link', { name: 'Overview' }).click();
    const servers = page.getByRole('region', { name: 'Servers' });
    await servers.getByRole('heading', { name: 'Triton Inference Servers' }).waitFor({ timeout: 30_000 });
    await expect.poll(() => servers.getByRole('row', { name: /^t1 / }).textContent(), { timeout: 30_000 }).toMatch(/READY.*1 of 1 ready/);
    await expect.poll(() => servers.getByRole('row', { name: /^t2 / }).textContent(), { timeout: 30_000 }).toMatch(/READY.*1 of 2 ready/);
    expect(outside).toEqual([]);
    expect(realProblems(problems)).toEqual([]);
  });

  test('tinker: a model trained through the API appears with its worker, and its loss plot receives points live', async () => {
    const { page, outside, problems } = await open('#/training', operateKey);
    await page.getByRole('heading', { name: 'Training', level: 1 }).waitFor({ timeout: 30_000 });
    await page.getByText('No tinker models yet.', { exact: false }).waitFor({ timeout: 30_000 });
    const sdk = new TinkerSdk(bp.url, { apiKey: operateKey, chunkSize: 2 });
    await sdk.createSession(['dashboard']);
    const model = await sdk.createModel({ rank: 8, train_mlp: true, train_attn: true, train_unembed: true, seed: 5 });
    const card = page.getByRole('article', { name: new RegExp(model) });
    await card.getByText('ready').first().waitFor({ timeout: 30_000 });
    await page.getByRole('table', { name: 'Tinker workers' }).getByRole('row', { name: new RegExp(model) }).waitFor({ timeout: 30_000 });
    await card.getByText('The loss is plotted here from the next optim_step.').waitFor();

    // Train until the page has plotted several steps (the subscription starts when the card does).
    const data = corpus.map((t) => textDatum(t));
    let steps = 0;
    while (steps < 80 && (steps < 12 || (await plottedSteps(page, model)) < 8)) {
      await sdk.forwardBackward(model, data, 'cross_entropy');
      await sdk.optimStep(model, { learning_rate: 0.02 });
      steps++;
    }
    await expect.poll(() => plottedSteps(page, model), { timeout: 30_000 }).toBeGreaterThanOrEqual(8);
    await expect.poll(async () => (await card.getByRole('img').getAttribute('aria-label')) ?? '', { timeout: 30_000 }).toContain(`at step ${steps}`);
    expect(await card.locator('canvas').count()).toBeGreaterThan(0);
    // The plotted loss is the one the API reports.
    const api = await bp.gql(`{ tinkerModel(id: "${model}") { step lastLoss } }`, undefined, { apiKey: readKey });
    expect(api.data.tinkerModel.step).toBe(steps);
    expect(await card.getByRole('img').getAttribute('aria-label')).toContain(`now ${api.data.tinkerModel.lastLoss.toFixed(3)}`);
    await expect.poll(() => card.textContent(), { timeout: 30_000 }).toContain(`Step · last loss${steps} · ${api.data.tinkerModel.lastLoss.toFixed(3)}`);
    await shot(page, 'tinker');
    expect(outside).toEqual([]);
    expect(realProblems(problems)).toEqual([]);
  });

  test('a read key at phone width sees the Triton states and the training page, but no Load or Unload button; a server going down shows live', async () => {
    const { page, outside, problems } = await open('#/servers', readKey, { width: 390, height: 844 });
    await page.getByText('read only').waitFor({ timeout: 30_000 });
    const panel = page.getByRole('region', { name: 'Triton Inference Servers' });
    const t1 = panel.getByRole('article', { name: /^Triton t1/ });
    await expect.poll(() => t1.getByRole('row', { name: /densenet_onnx/ }).textContent(), { timeout: 30_000 }).toMatch(/v1 READY/);
    await expect.poll(() => panel.getByRole('article', { name: /^Triton t2/ }).getByRole('row', { name: /resnet50/ }).textContent(), { timeout: 30_000 }).toMatch(/READY/);
    expect(await page.getByRole('button', { name: /^(Load|Unload) / }).count()).toBe(0);
    expect(await page.getByRole('columnheader', { name: 'Actions' }).count()).toBe(0);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot(page, 'triton-phone', true);

    // tritonServerHealthChanged: t2 stops answering and the next probe says DOWN, naming it.
    await fakes[1].stop();
    const t2 = panel.getByRole('article', { name: /^Triton t2/ });
    await t2.getByRole('heading', { name: 'Triton t2 DOWN' }).waitFor({ timeout: 30_000 });
    await t2.getByText(/Triton server 't2' .* is unreachable/).first().waitFor({ timeout: 30_000 });

    await page.getByRole('link', { name: 'Training' }).click();
    await page.getByRole('region', { name: 'Tinker models' }).getByRole('img', { name: /^Loss of model-/ }).waitFor({ timeout: 30_000 });
    expect(await page.getByRole('main').getByRole('button').count()).toBe(0);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(outside).toEqual([]);
    expect(realProblems(problems)).toEqual([]);
  });
});
