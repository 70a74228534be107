import http from 'node:http';
import { execa } from 'execa';
import { builtinPlugins } from '../../plugins/index.ts';
import { buildLlamaServerArgs } from '../../plugins/llama-cpp/llama-args.ts';
import { locateLlamaServer } from '../../test/fixtures/llama/llama-server-bin.ts';
import { createLlamaModelRoot, freePort } from '../../test/fixtures/llama/llama-test-kit.ts';
import { median, report, runLoad } from './lib/load.ts';
import { spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * The OpenAI router against direct calls to the same llama-server (the tiny generated model),
 * alternating in the same run: completions/s at concurrency 1 and 8, streamed tokens/s and
 * time to the first token; and start → healthy through the start mutation against llama-server
 * started by hand and polled on /health.
 */
const located = await locateLlamaServer();
if (located.skip !== undefined) {
  process.stdout.write(`skipped: ${located.skip}\n`);
  process.exit(0);
}
const llamaServer = located.path;
const models = await createLlamaModelRoot();
const plugins = Object.fromEntries(
  builtinPlugins.map((p) => [p.id, p.id === 'llama-cpp' ? { llamaServerPath: llamaServer, modelRoots: [models.root], healthIntervalMs: 5000 } : { enabled: false }]),
);
const daemon = await spawnBenchDaemon({ plugins });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pollMs = 5;
const instance = { threads: 1, ctxSize: 4096, parallel: 8 };

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${daemon.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: any; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors[0].message);
  return body.data;
}

const status = async (name: string) => (await gql('query($n: String!) { llamaInstance(name: $n) { status baseUrl } }', { n: name })).llamaInstance;

/** Milliseconds to the first SSE event that carries text, and the events (tokens) of the whole stream. */
function streamOnce(url: string, body: string): Promise<{ ttftMs: number; tokens: number; totalMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ttftMs = -1;
    let tokens = 0;
    let pending = '';
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        pending += chunk;
        const events = pending.split('\n\n');
        pending = events.pop() ?? '';
        for (const event of events) {
          if (!event.startsWith('data: {')) continue;
          if (!/"text":"[^"]/.test(event)) continue;
          if (ttftMs < 0) ttftMs = performance.now() - t0;
          tokens++;
        }
      });
      res.on('end', () => resolve({ ttftMs, tokens, totalMs: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

try {
  const port = await freePort();
  await gql('mutation($i: CreateLlamaInstanceInput!) { createLlamaInstance(input: $i) { name } }', { i: { name: 'tiny', modelPath: models.model, port, options: instance } });
  await gql('mutation { startLlamaInstance(name: "tiny") { status } }');
  while ((await status('tiny')).status !== 'running') await sleep(pollMs);
  const direct = (await status('tiny')).baseUrl as string;
  const router = daemon.url;

  // Completions/s, router and direct alternating, after a warm-up of each.
  const completion = JSON.stringify({ model: 'tiny', prompt: 'Hello', max_tokens: 8, ignore_eos: true, temperature: 0 });
  const ok = (code: number, bytes: Buffer) => code === 200 && bytes.includes('"completion_tokens":8');
  for (const concurrency of [1, 8]) {
    const options = { method: 'POST', headers: { 'content-type': 'application/json' }, body: completion, concurrency };
    await runLoad({ ...options, url: `${router}/v1/completions`, durationMs: 1000 });
    await runLoad({ ...options, url: `${direct}/v1/completions`, durationMs: 1000 });
    const ours = await runLoad({ ...options, url: `${router}/v1/completions`, durationMs: 4000, check: ok });
    const bare = await runLoad({ ...options, url: `${direct}/v1/completions`, durationMs: 4000, check: ok });
    report(`completions/s via /v1 router, concurrency ${concurrency}`, { rps: ours.rps, p50ms: ours.p50ms, p99ms: ours.p99ms, errors: ours.errors });
    report('  direct to llama-server', { rps: bare.rps, p50ms: bare.p50ms, p99ms: bare.p99ms, errors: bare.errors });
    report('  ratio (aim >= 0.95)', { rps_ratio: ours.rps / bare.rps });
  }

  // Streamed tokens/s and time to the first token, one stream at a time, alternating.
  const stream = JSON.stringify({ model: 'tiny', prompt: 'Once', max_tokens: 256, ignore_eos: true, stream: true, temperature: 0 });
  const rounds = 40;
  const viaRouter: { ttftMs: number; tokens: number; totalMs: number }[] = [];
  const viaDirect: typeof viaRouter = [];
  await streamOnce(`${router}/v1/completions`, stream);
  await streamOnce(`${direct}/v1/completions`, stream);
  for (let i = 0; i < rounds; i++) {
    viaRouter.push(await streamOnce(`${router}/v1/completions`, stream));
    viaDirect.push(await streamOnce(`${direct}/v1/completions`, stream));
  }
  const tps = (runs: typeof viaRouter) => runs.reduce((n, r) => n + r.tokens, 0) / (runs.reduce((ms, r) => ms + r.totalMs, 0) / 1000);
  const ttft = (runs: typeof viaRouter) => median(runs.map((r) => r.ttftMs));
  report(`streamed tokens/s via /v1 router (${rounds} streams)`, { tokens_per_s: tps(viaRouter), ttft_p50ms: ttft(viaRouter) });
  report('  direct to llama-server', { tokens_per_s: tps(viaDirect), ttft_p50ms: ttft(viaDirect) });
  report('  ratio (aim >= 0.95; overhead < 2 ms)', { tps_ratio: tps(viaRouter) / tps(viaDirect), ttft_overhead_ms: ttft(viaRouter) - ttft(viaDirect) });

  await gql('mutation { stopLlamaInstance(name: "tiny", force: true) { status } }');

  // Start → healthy: the start mutation polled until `running`, against llama-server by hand polled on /health.
  const startRounds = 7;
  const ours: number[] = [];
  const baseline: number[] = [];
  const byHandPort = await freePort();
  const byHand = async () => {
    const args = buildLlamaServerArgs({ modelPath: models.model, host: '127.0.0.1', port: byHandPort, name: 'tiny', aliases: [], threads: instance.threads, ctxSize: instance.ctxSize, gpuLayers: 0, parallel: instance.parallel, extraArgs: [] });
    const started = performance.now();
    const child = execa(llamaServer, args, { reject: false, stdio: 'ignore' });
    for (;;) {
      const answer = await fetch(`http://127.0.0.1:${byHandPort}/health`).catch(() => undefined);
      if (answer?.status === 200) break;
      await sleep(pollMs);
    }
    const ms = performance.now() - started;
    child.kill('SIGKILL');
    await child;
    return ms;
  };
  const viaMutation = async () => {
    const started = performance.now();
    await gql('mutation { startLlamaInstance(name: "tiny") { status } }');
    while ((await status('tiny')).status !== 'running') await sleep(pollMs);
    const ms = performance.now() - started;
    await gql('mutation { stopLlamaInstance(name: "tiny", force: true) { status } }');
    return ms;
  };
  await viaMutation();
  await byHand();
  for (let i = 0; i < startRounds; i++) {
    ours.push(await viaMutation());
    baseline.push(await byHand());
  }
  report(`start mutation → running (${startRounds} runs)`, { p50ms: median(ours), minMs: Math.min(...ours), maxMs: Math.max(...ours) });
  report('  llama-server by hand, /health polled', { p50ms: median(baseline), minMs: Math.min(...baseline), maxMs: Math.max(...baseline) });
  report('  ratio', { latency_ratio: median(ours) / median(baseline), overhead_ms: median(ours) - median(baseline) });
} finally {
  await gql('mutation { stopAllLlamaInstances(force: true) { name } }').catch(() => undefined);
  await daemon.stop();
  await models.cleanup();
}
