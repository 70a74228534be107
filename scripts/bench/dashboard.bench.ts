import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createFakeNvidiaSmi } from '../../test/fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { chromiumFlags, chromiumPath, ensureDashboardBuilt, offlinePage } from '../../test/helpers/offline-browser.ts';
import { median, report } from './lib/load.ts';
import { repoRoot, spawnBenchDaemon } from './lib/spawn-daemon.ts';
import { gql } from './lib/ws-client.ts';

/**
 * The dashboard in headless Chromium against a loopback daemon (`npm start`'s way, fake
 * nvidia-smi with four GPUs):
 * - time to first meaningful paint of the overview (navigation start → the four GPU cards drawn)
 *   and page weight (bytes over the wire, cold cache), against GraphiQL (the other page the daemon
 *   serves: navigation → its editor) measured in the same run;
 * - the browser's JS heap and DOM size while the job page follows a log growing by 10 MB/s for
 *   BENCH_DASHBOARD_SECONDS (default 30), against the same page on a finished 1 KB log, and how
 *   long the page takes to answer (a round trip into it) meanwhile.
 */
const followSeconds = Number(process.env.BENCH_DASHBOARD_SECONDS ?? 30);
const runs = 5;
ensureDashboardBuilt();
const fake = await createFakeNvidiaSmi('four-mixed');
const daemon = await spawnBenchDaemon({
  jobs: { maxLogBytes: 2 * 1024 * 1024 * 1024 },
  plugins: { ilab: { enabled: false }, 'vllm-podman': { enabled: false }, 'nvidia-smi': { bin: fake.bin, intervalMs: 1000 }, 'jobs-test': { module: path.join(repoRoot, 'test/helpers/jobs-test-plugin.ts') } },
});
const browser: Browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });

async function pageLoad(url: string, ready: string): Promise<{ ms: number; bytes: number }> {
  const offline = await offlinePage(browser, { viewport: { width: 1280, height: 900 } });
  try {
    await offline.page.goto(url);
    await offline.page.locator(ready).first().waitFor({ timeout: 60_000 });
    // Milliseconds since this navigation began (the page's time origin).
    const ms = await offline.page.evaluate(() => performance.now());
    await offline.page.waitForLoadState('networkidle').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200)); // the last responses' sizes are counted asynchronously
    if (offline.outside.length > 0) throw new Error(`requests left the host: ${offline.outside.join(', ')}`);
    return { ms, bytes: offline.bytes() };
  } finally {
    await offline.context.close();
  }
}

try {
  const overview: { ms: number; bytes: number }[] = [];
  const graphiql: { ms: number; bytes: number }[] = [];
  for (let i = 0; i < runs + 1; i++) {
    // A GPU card is drawn once its sparkline canvas is: the overview's meaningful content.
    const o = await pageLoad(`${daemon.url}/`, '.gpu:nth-of-type(4) canvas');
    const g = await pageLoad(`${daemon.url}/graphql`, '.graphiql-query-editor .monaco-editor');
    // The first round warms the daemon (and the OS's file cache); it is not counted.
    if (i > 0) overview.push(o), graphiql.push(g);
  }
  const ms = (list: { ms: number }[]) => median(list.map((x) => x.ms));
  const kib = (list: { bytes: number }[]) => median(list.map((x) => x.bytes)) / 1024;
  report('overview: first meaningful paint', { median_ms: ms(overview), weight_KiB: kib(overview) });
  report('graphiql (baseline): editor shown', { median_ms: ms(graphiql), weight_KiB: kib(graphiql) });
  report('  ratio overview / graphiql', { paint: ms(overview) / ms(graphiql), weight: kib(overview) / kib(graphiql) });

  const start = async (args: string[]) => (await gql<{ testStartJob: string }>(daemon.url, 'mutation($a: [String!]!, $c: String) { testStartJob(fixture: "node", command: $c, args: $a) }', { a: args, c: process.execPath })).testStartJob;
  const heapOf = async (jobId: string, seconds: number) => {
    const offline = await offlinePage(browser, { viewport: { width: 1280, height: 900 } });
    const cdp = await offline.context.newCDPSession(offline.page);
    await cdp.send('Performance.enable');
    await offline.page.goto(`${daemon.url}/#/jobs/${jobId}`);
    await offline.page.locator('.log-line').first().waitFor({ timeout: 60_000 });
    let heapMiB = 0;
    let nodes = 0;
    let roundTripMs = 0;
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      const t0 = performance.now();
      await offline.page.evaluate(() => 1);
      roundTripMs = Math.max(roundTripMs, performance.now() - t0);
      const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
      const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? 0;
      heapMiB = Math.max(heapMiB, metric('JSHeapUsedSize') / 1024 / 1024);
      nodes = Math.max(nodes, metric('Nodes'));
    }
    const held = await offline.page.locator('.log-toolbar .muted').textContent();
    await offline.context.close();
    return { heapMiB, nodes, roundTripMs, held: held ?? '' };
  };

  const small = await start(['-e', 'for (let i = 0; i < 10; i++) console.log(`line ${i} ` + "x".repeat(90))']);
  const idle = await heapOf(small, 5);
  // 10 MB/s: a 1 MB chunk of 100-byte lines every 100 ms.
  const writer = `const line = (i) => String(i).padStart(10, '0') + ' ' + 'log line of a busy job '.repeat(4).slice(0, 88) + '\\n';
    let n = 0; const end = Date.now() + ${(followSeconds + 10) * 1000};
    const tick = () => { let s = ''; for (let i = 0; i < 10000; i++) s += line(n++); process.stdout.write(s); if (Date.now() < end) setTimeout(tick, 100); };
    tick();`;
  const busy = await start(['-e', writer]);
  const follow = await heapOf(busy, followSeconds);
  const { job } = await gql<{ job: { logSize: number } }>(daemon.url, 'query($id: ID!) { job(id: $id) { logSize } }', { id: busy });
  report('job page on a 1 KB log (baseline)', { heap_MiB: idle.heapMiB, dom_nodes: idle.nodes, max_roundtrip_ms: idle.roundTripMs });
  report(`following 10 MB/s for ${followSeconds} s`, { heap_MiB: follow.heapMiB, dom_nodes: follow.nodes, max_roundtrip_ms: follow.roundTripMs, log_MiB: job.logSize / 1024 / 1024 });
  report(`  (${follow.held})`, {});
  report('  ratio following / baseline', { heap: follow.heapMiB / idle.heapMiB, dom: follow.nodes / idle.nodes });
  await gql(daemon.url, 'mutation($id: ID!) { cancelJob(id: $id) { id } }', { id: busy }).catch(() => undefined);
} finally {
  await browser.close();
  await daemon.stop();
  await fake.remove();
}
