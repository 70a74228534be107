import http from 'node:http';
import { execa } from 'execa';
import { builtinPlugins } from '../../plugins/index.ts';
import { buildLlamaServerArgs } from '../../plugins/llama-cpp/llama-args.ts';
import { locateLlamaServer } from '../../test/fixtures/llama/llama-server-bin.ts';
import { createLlamaModelRoot, freePort } from '../../test/fixtures/llama/llama-test-kit.ts';
import { median, report, runLoad, type LoadResult } from './lib/load.ts';
import { cpuSecondsOf, spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * The OpenAI router against direct calls to the same llama-server (the tiny generated model),
 * alternating in the same run: completions/s at concurrency 1 and 8 (medians of short rounds),
 * streamed tokens/s and time to the first token; and start → healthy through the start mutation
 * against llama-server started by hand and polled on /health.
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
// BENCH_CPU_PROF=dir: the daemon writes a V8 CPU profile there when it stops (`node --cpu-prof`).
const profileDir = process.env.BENCH_CPU_PROF;
const daemon = await spawnBenchDaemon({ plugins }, undefined, { nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] });
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

/**
 * A minimal keep-alive reverse proxy in a process of its own (as the daemon is): reads the
 * body, parses it as the router does, forwards it. The floor of any extra HTTP hop here.
 */
const bareProxySource = `
import http from 'node:http';
const upstream = process.argv[1];
const agent = new http.Agent({ keepAlive: true });
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    JSON.parse(body.toString('utf8'));
    const forward = http.request(upstream + req.url, { method: req.method, agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    forward.end(body);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

async function startBareProxy(upstream: string): Promise<{ url: string; close(): Promise<void> }> {
  const child = execa(process.execPath, ['--input-type=module', '-e', bareProxySource, upstream], { reject: false, buffer: false });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    void child.then(() => reject(new Error('the bare proxy exited')));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      child.kill('SIGTERM');
      await child;
    },
  };
}

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

  // Completions/s, router and direct alternating in short rounds after a warm-up of each: on a
  // shared machine a burst of other work then hits both sides, and the medians shrug it off.
  // 8-token completions show the router's fixed cost per request (the tiny model answers in
  // about a millisecond); 128-token ones (some 20 ms) what it costs a request of a real size.
  // A bare keep-alive proxy in its own process is the floor of any extra HTTP hop here.
  const floor = await startBareProxy(direct);
  const loadRounds = 6;
  for (const { concurrency, tokens } of [
    { concurrency: 1, tokens: 8 },
    { concurrency: 8, tokens: 8 },
    { concurrency: 1, tokens: 128 },
  ]) {
    const completion = JSON.stringify({ model: 'tiny', prompt: 'Hello', max_tokens: tokens, ignore_eos: true, temperature: 0 });
    const ok = (code: number, bytes: Buffer) => code === 200 && bytes.includes(`"completion_tokens":${tokens}`);
    const options = { method: 'POST', headers: { 'content-type': 'application/json' }, body: completion, concurrency };
    await runLoad({ ...options, url: `${router}/v1/completions`, durationMs: 1000 });
    await runLoad({ ...options, url: `${direct}/v1/completions`, durationMs: 1000 });
    const ours: (LoadResult & { cpuMs: number })[] = [];
    const bare: typeof ours = [];
    const hop: typeof ours = [];
    // The daemon's CPU per request, steadier than rates under load; during direct calls it is
    // what following llama-server's log costs the daemon.
    const measured = async (url: string) => {
      const cpu = await cpuSecondsOf(daemon.pid);
      const result = await runLoad({ ...options, url, durationMs: 1000, check: ok });
      return { ...result, cpuMs: ((await cpuSecondsOf(daemon.pid)) - cpu) * 1000 / Math.max(1, result.requests) };
    };
    for (let round = 0; round < loadRounds; round++) {
      ours.push(await measured(`${router}/v1/completions`));
      bare.push(await measured(`${direct}/v1/completions`));
      hop.push(await measured(`${floor.url}/v1/completions`));
    }
    const summary = (runs: typeof ours) => ({ rps: median(runs.map((r) => r.rps)), p50ms: median(runs.map((r) => r.p50ms)), p99ms: median(runs.map((r) => r.p99ms)), errors: runs.reduce((n, r) => n + r.errors, 0), daemon_cpu_ms_per_req: median(runs.map((r) => r.cpuMs)) });
    const a = summary(ours);
    const b = summary(bare);
    report(`completions/s via /v1 router, concurrency ${concurrency}, ${tokens} tokens`, a);
    report('  direct to llama-server', b);
    report(`  ratio of medians of ${loadRounds} rounds (aim >= 0.95)`, { rps_ratio: a.rps / b.rps, p50_overhead_ms: a.p50ms - b.p50ms });
    const h = summary(hop);
    report('  bare node:http proxy to it (floor of a hop)', { rps: h.rps, p50ms: h.p50ms, rps_ratio: h.rps / b.rps });
  }
  await floor.close();

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
  // Where the time goes: core's job supervisor (job created → llama-server spawned), then
  // llama-server's own start and the health probe (spawned → running).
  const supervisorMs: number[] = [];
  const spawnedToRunningMs: number[] = [];
  const viaMutation = async () => {
    const started = performance.now();
    await gql('mutation { startLlamaInstance(name: "tiny") { status } }');
    while ((await status('tiny')).status !== 'running') await sleep(pollMs);
    const ms = performance.now() - started;
    const run = (await gql('{ llamaInstance(name: "tiny") { jobId readyAt } }')).llamaInstance;
    const job = (await gql('query($id: ID!) { job(id: $id) { createdAt startedAt } }', { id: run.jobId })).job;
    supervisorMs.push(Date.parse(job.startedAt) - Date.parse(job.createdAt));
    spawnedToRunningMs.push(Date.parse(run.readyAt) - Date.parse(job.startedAt));
    await gql('mutation { stopLlamaInstance(name: "tiny", force: true) { status } }');
    return ms;
  };
  await viaMutation();
  await byHand();
  supervisorMs.length = 0;
  spawnedToRunningMs.length = 0;
  for (let i = 0; i < startRounds; i++) {
    ours.push(await viaMutation());
    baseline.push(await byHand());
  }
  report(`start mutation → running (${startRounds} runs)`, { p50ms: median(ours), minMs: Math.min(...ours), maxMs: Math.max(...ours) });
  report('  of which job created → spawned (supervisor)', { p50ms: median(supervisorMs) });
  report('  of which spawned → running (probe)', { p50ms: median(spawnedToRunningMs) });
  report('  llama-server by hand, /health polled', { p50ms: median(baseline), minMs: Math.min(...baseline), maxMs: Math.max(...baseline) });
  report('  ratio', { latency_ratio: median(ours) / median(baseline), overhead_ms: median(ours) - median(baseline) });
} finally {
  await gql('mutation { stopAllLlamaInstances(force: true) { name } }').catch(() => undefined);
  await daemon.stop();
  await models.cleanup();
}
