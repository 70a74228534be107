import http from 'node:http';
import path from 'node:path';
import { execa } from 'execa';
import { builtinPlugins } from '../../plugins/index.ts';
import { startFakeInferenceProcess } from './lib/fake-inference-process.ts';
import { median, report, runLoad, type LoadResult } from './lib/load.ts';
import { repoRoot, spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * The gateway against calling the same backend directly, alternating in the same run: a small
 * KServe v2 JSON infer call at concurrency 1 and 32 (requests/s and p99, medians of short
 * rounds), and streamed bytes/s of an OpenAI chat completion with `stream: true`. The backend
 * (test/helpers/fake-inference.ts), the daemon and a bare keep-alive proxy in front of the same
 * backend (the floor of any extra HTTP hop here) each run in a process of their own, so every
 * target is one socket hop from this load generator and the backend's CPU is not its own.
 */
const bareProxySource = `
import http from 'node:http';
const upstream = process.argv[1];
const agent = new http.Agent({ keepAlive: true });
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const headers = { ...req.headers, 'content-length': String(body.length) };
    delete headers.host; delete headers.connection;
    const forward = http.request(upstream + req.url, { method: req.method, agent, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    forward.end(body);
  });
}).listen(0, '127.0.0.1', function () { process.stdout.write(this.address().port + '\\n'); });
`;

const adminKey = 'b'.repeat(32);
const backend = await startFakeInferenceProcess({ models: ['resnet', 'tiny'], chunks: 4000, chunkBytes: 1024 });
const plugins = Object.fromEntries(builtinPlugins.map((p) => [p.id, p.id === 'gateway' ? { defaults: { rateLimit: { limit: 1_000_000, windowSeconds: 1 } } } : { enabled: false }]));
plugins['endpoint-test'] = {
  module: path.join(repoRoot, 'test', 'helpers', 'endpoint-test-plugin.ts'),
  endpoints: [
    { id: 'endpoint-test:fake/resnet', protocol: 'kserve-v2', server: 'fake', model: 'resnet', baseUrl: backend.url },
    { id: 'endpoint-test:fake/tiny', protocol: 'openai', server: 'fake', model: 'tiny', baseUrl: backend.url },
  ],
} as never;
const bareChild = execa(process.execPath, ['--input-type=module', '-e', bareProxySource, backend.url], { reject: false, buffer: false });
const barePort = await new Promise<string>((resolve, reject) => {
  bareChild.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
  void bareChild.then(() => reject(new Error('the bare proxy exited')));
});
const bareProxy = `http://127.0.0.1:${barePort}`;
const daemon = await spawnBenchDaemon({ plugins, auth: { keys: [{ name: 'ops', key: adminKey, scopes: ['admin'] }] } });

async function gql(query: string) {
  const response = await fetch(`${daemon.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` }, body: JSON.stringify({ query }) });
  const body = (await response.json()) as { data?: any; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors[0].message);
  return body.data;
}

try {
  await gql('mutation { createUser(name: "bench", password: "bench-password", role: "consume") { name } }');
  await gql('mutation { createGatewayApp(input: { name: "bench" }) { name } }');
  await gql('mutation { addGatewayRoute(app: "bench", model: "resnet") { modelName } }');
  await gql('mutation { addGatewayRoute(app: "bench", model: "tiny") { modelName } }');
  await gql('mutation { addGatewayConsumer(app: "bench", user: "bench") { user } }');
  const key = (await gql('mutation { createApiKey(user: "bench") { key } }')).createApiKey.key as string;

  const inferBody = JSON.stringify({ inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
  const direct = `${backend.url}/v2/models/resnet/infer`;
  const viaGateway = `${daemon.url}/gateway/bench/v2/models/resnet/infer`;
  const check = (status: number) => status === 200;
  for (const concurrency of [1, 32]) {
    const options = { method: 'POST', body: inferBody, concurrency, durationMs: 1500, check };
    await runLoad({ ...options, url: viaGateway, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, durationMs: 800 });
    await runLoad({ ...options, url: direct, headers: { 'content-type': 'application/json' }, durationMs: 800 });
    const ours: LoadResult[] = [];
    const bare: LoadResult[] = [];
    const floor: LoadResult[] = [];
    for (let round = 0; round < 3; round++) {
      ours.push(await runLoad({ ...options, url: viaGateway, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` } }));
      bare.push(await runLoad({ ...options, url: direct, headers: { 'content-type': 'application/json' } }));
      floor.push(await runLoad({ ...options, url: `${bareProxy}/v2/models/resnet/infer`, headers: { 'content-type': 'application/json' } }));
    }
    const f = { rps: median(floor.map((r) => r.rps)), p99ms: median(floor.map((r) => r.p99ms)) };
    const g = { rps: median(ours.map((r) => r.rps)), p99ms: median(ours.map((r) => r.p99ms)), errors: ours.reduce((n, r) => n + r.errors, 0) };
    const d = { rps: median(bare.map((r) => r.rps)), p99ms: median(bare.map((r) => r.p99ms)) };
    report(`infer JSON via gateway, concurrency ${concurrency}`, g);
    report(`  direct to the backend`, d);
    report(`  bare proxy process, same backend`, f);
    report(`  ratio to direct`, { rps_ratio: g.rps / d.rps, p99_ratio: d.p99ms / g.p99ms });
    report(`  ratio to the bare proxy`, { rps_ratio: g.rps / f.rps, p99_ratio: f.p99ms / g.p99ms });
  }

  const streamBody = JSON.stringify({ model: 'tiny', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  const stream = (url: string, headers: Record<string, string>) =>
    new Promise<{ bytes: number; seconds: number }>((resolve, reject) => {
      const started = performance.now();
      const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(streamBody), ...headers } }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve({ bytes, seconds: (performance.now() - started) / 1000 }));
      });
      req.on('error', reject);
      req.end(streamBody);
    });
  const rates = { gateway: [] as number[], direct: [] as number[], bare: [] as number[] };
  for (let round = 0; round < 6; round++) {
    const g = await stream(`${daemon.url}/gateway/bench/tiny/v1/chat/completions`, { authorization: `Bearer ${key}` });
    const d = await stream(`${backend.url}/v1/chat/completions`, {});
    const b = await stream(`${bareProxy}/v1/chat/completions`, {});
    if (round === 0) continue; // warm-up
    rates.gateway.push(g.bytes / g.seconds);
    rates.direct.push(d.bytes / d.seconds);
    rates.bare.push(b.bytes / b.seconds);
  }
  const g = median(rates.gateway);
  const d = median(rates.direct);
  report('streamed SSE via gateway (4 MiB)', { MiB_per_s: g / 2 ** 20 });
  report('  direct to the backend', { MiB_per_s: d / 2 ** 20 });
  report('  bare proxy process, same backend', { MiB_per_s: median(rates.bare) / 2 ** 20 });
  report('  ratio to direct (aim >= 0.9)', { ratio: g / d });
  report('  ratio to the bare proxy', { ratio: g / median(rates.bare) });
} finally {
  await daemon.stop();
  bareChild.kill('SIGTERM');
  await bareChild;
  await backend.stop();
}
