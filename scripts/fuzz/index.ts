import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startFuzzEnvironment, repoRoot, type FuzzEnvironment, type LogRecord } from './environment.ts';
import type { FuzzCase } from './fuzz-case.ts';
import { graphqlCase, introspectionQuery, schemaModel, type GraphqlWorld } from './graphql-cases.ts';
import { judge, judgeWs, unexpectedLogMessages } from './oracle.ts';
import { Prng, randomSeed } from './prng.ts';
import { sendRaw } from './raw-http.ts';
import { describeCase, describeResponse, describeWsCase, describeWsResult, escapeBytes } from './report.ts';
import { httpCase, restCase, type FuzzWorld } from './rest-cases.ts';
import { listRoutes, routeLabel } from './routes.ts';
import { diffTrees, residentBytes, snapshotTree, untrackedFiles, type TreeSnapshot } from './watch.ts';
import { runWsCase, wsCase } from './ws-cases.ts';

/**
 * `npm run fuzz -- [--iterations N] [--seed S] [--duration-s T]`: boots the daemon on loopback
 * with fake backends and sends N hostile requests (or for T seconds) to every REST route of
 * every profile, `/graphql` (POST, GET) and graphql-ws. Fails on any undocumented 5xx, a crash,
 * an answer slower than 5 s, a file changed outside the data dir, or RSS growth beyond a bound.
 * See docs/security.md.
 */
const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '2000' },
    seed: { type: 'string' },
    'duration-s': { type: 'string', default: '900' },
    concurrency: { type: 'string', default: '1' },
    'rss-bound-mib': { type: 'string', default: '128' },
    'heap-bound-mib': { type: 'string', default: '40' },
  },
});
const iterations = Number(values.iterations);
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : randomSeed();
const durationMs = Number(values['duration-s']) * 1000;
const concurrency = Math.max(1, Number(values.concurrency));
const rssBoundBytes = Number(values['rss-bound-mib']) * 1024 * 1024;
const heapBoundBytes = Number(values['heap-bound-mib']) * 1024 * 1024;
const hangMs = 5000;

interface Failure {
  key: string;
  reason: string;
  iteration: number;
  reproducer: string;
  answer: string;
}

const log = (line: string) => process.stdout.write(`${line}\n`);
log(`fuzz: seed ${seed}, up to ${iterations} requests or ${durationMs / 1000} s, concurrency ${concurrency} (replay with --seed ${seed})`);

const untrackedBefore = await untrackedFiles(repoRoot);
const env = await startFuzzEnvironment();
const failures: Failure[] = [];
const warnings = new Map<string, number>();
const perFamily = new Map<string, Map<string, number>>();
const statuses = new Map<string, number>();
const legacy500s = new Map<string, number>();
const windows: { iteration: number; start: number; end: number; describe: () => string }[] = [];
const hanging = new Set<string>();
const skipped = new Map<string, number>();
let sent = 0;
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: finishing the request in flight, then stopping the daemon`);
  });
}

try {
  const ready = (await (await fetch(`${env.url}/readyz`)).json()) as { plugins: { id: string; status: string; message: string | null }[] };
  log(`daemon pid ${env.pid} at ${env.url}; plugins: ${ready.plugins.map((p) => `${p.id}=${p.status}`).join(', ')}`);
  for (const p of ready.plugins.filter((p) => p.status !== 'ready')) log(`  ${p.id} is ${p.status}: ${p.message}`);
  const gql = async (query: string) => {
    const response = await fetch(`${env.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${env.apiKey}` }, body: JSON.stringify({ query }) });
    return ((await response.json()) as { data: any }).data;
  };
  const schema = schemaModel(await gql(introspectionQuery));
  const listed = await fetch(`${env.url}/models`, { headers: { authorization: `Bearer ${env.apiKey}` } }).then((r) => r.json() as Promise<{ name: string }[]>).catch(() => []);
  const models = listed.length > 0 ? listed.map((m) => m.name) : ['models/granite-8b-starter-v1', 'instructlab/granite-7b-lab', 'granite-7b-lab-Q4_K_M.gguf'];
  const relativeVictim = path.relative(env.dataDir, env.victim);
  const world: FuzzWorld & GraphqlWorld = {
    apiKey: env.apiKey,
    bodyLimitBytes: env.bodyLimitBytes,
    victim: env.victim,
    victimFromData: relativeVictim,
    models: [...models, 'models/evil-model', 'model/granite-8b-starter-v1'],
    modelPaths: [path.join(env.fake.models, 'granite-8b-starter-v1'), path.join(env.fake.models, 'granite-7b-lab-Q4_K_M.gguf'), path.join(env.fake.checkpoints, 'samples_256'), path.join(env.fake.models, 'evil-model')],
    branches: ['main', 'other', 'feature/train-improvements'],
    checkpoints: ['samples_256', 'evil-link'],
    yamlFiles: [env.fake.qnaYaml],
    jobIds: [],
    validStartsLeft: Math.max(10, Math.floor(iterations / 200)),
    schema,
  };
  const routes = listRoutes();
  const paths = [...new Set(routes.map((r) => r.path)), '/graphql', '/healthz', '/readyz', '/metrics', '/nope'];
  log(`${routes.length} REST routes in ${new Set(routes.map((r) => r.profile)).size} profiles; ${[...schema.types.get(schema.roots.query)!.fields].length} query fields`);

  const canaryBefore: TreeSnapshot[] = [];
  for (const c of env.canaries) canaryBefore.push(await snapshotTree(c.dir, c.exclude));

  const rng = new Prng(seed);
  const started = Date.now();
  // The baseline: after one plain request per GET route and a few queries (lazy set-up, JIT),
  // before any hostile input.
  for (let round = 0; round < 3; round++) {
    for (const route of routes.filter((r) => r.method === 'GET')) await sendRaw(env.port, { method: 'GET', target: route.path.replace(/\{[^}]+\}/g, 'a'), headers: [['Authorization', `Bearer ${env.apiKey}`]] });
    await gql('{ daemon { version } plugins { id status } jobs(first: 5) { edges { node { id } } } gpus { index } }');
  }
  let baseline: { rss: number; heap: number } | undefined = await (async () => {
    const heap = await env.collectGarbage();
    return { rss: await residentBytes(env.pid), heap };
  })();
  let peakHeap = baseline.heap;
  let crashed: string | undefined;
  void env.exited.then((how) => {
    crashed = how;
  });

  const count = (family: string, status: string) => {
    const row = perFamily.get(family) ?? new Map<string, number>();
    row.set(status, (row.get(status) ?? 0) + 1);
    perFamily.set(family, row);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  };
  const fail = (key: string, reason: string, iteration: number, reproducer: string, answer: string) => failures.push({ key, reason, iteration, reproducer, answer });

  const runOne = async (iteration: number) => {
    const r = rng.fork();
    const pick = r.weighted<'rest' | 'graphql' | 'ws' | 'http'>([
      [62, 'rest'],
      [26, 'graphql'],
      [4, 'ws'],
      [8, 'http'],
    ]);
    const start = Date.now();
    if (pick === 'ws' && hanging.has('graphql-ws')) return void skipped.set('graphql-ws', (skipped.get('graphql-ws') ?? 0) + 1);
    if (pick === 'ws') {
      const c = wsCase(r, world);
      const result = await runWsCase(env.port, c, { timeoutMs: hangMs });
      const end = Date.now();
      windows.push({ iteration, start, end, describe: () => describeWsCase(c, env.apiKey) });
      count(`graphql-ws ${c.kind}`, result.outcome === 'refused' ? `refused ${result.status ?? result.error ?? ''}`.trim() : `close ${result.closeCode ?? 'open'}`);
      const verdict = judgeWs(c, result);
      if (verdict.warning) warnings.set(verdict.warning.replace(/\d+-byte/, 'N-byte'), (warnings.get(verdict.warning.replace(/\d+-byte/, 'N-byte')) ?? 0) + 1);
      if (verdict.failure) fail(`graphql-ws ${c.kind}: ${verdict.failure.slice(0, 80)}`, verdict.failure, iteration, describeWsCase(c, env.apiKey), describeWsResult(result));
      if (result.outcome === 'timeout') {
        hanging.add('graphql-ws');
        await awaitRecovery(iteration);
      }
      return;
    }
    let c: FuzzCase;
    if (pick === 'rest') c = restCase(r, r.pick(routes), world);
    else if (pick === 'graphql') c = graphqlCase(r, world);
    else c = httpCase(r, paths, world);
    // A family and kind that hung the daemon once is a known failure; sending more of it would
    // only block the daemon again and starve the rest of the run.
    const hangKey = `${c.family} [${c.kind}]`;
    if (hanging.has(hangKey)) return void skipped.set(hangKey, (skipped.get(hangKey) ?? 0) + 1);
    const response = await sendRaw(env.port, c.request, { timeoutMs: hangMs });
    const end = Date.now();
    windows.push({ iteration, start, end, describe: () => `${describeCase(c, env.apiKey)}\n    answer: ${describeResponse(response)}` });
    count(c.family, response.outcome === 'ok' || response.outcome === 'stream' ? String(response.status) : response.outcome);
    const verdict = judge(c, response);
    if (verdict.legacy500) legacy500s.set(`${c.route ?? c.family} → ${verdict.legacy500}`, (legacy500s.get(`${c.route ?? c.family} → ${verdict.legacy500}`) ?? 0) + 1);
    if (verdict.warning) warnings.set(verdict.warning, (warnings.get(verdict.warning) ?? 0) + 1);
    if (verdict.failure) fail(`${c.family} [${c.kind}]: ${verdict.failure.replace(/\d+ ms/, '').slice(0, 100)}`, verdict.failure, iteration, describeCase(c, env.apiKey), describeResponse(response));
    if (response.outcome === 'timeout') {
      hanging.add(hangKey);
      await awaitRecovery(iteration);
    }
  };

  // After a hang, wait until the daemon answers again, so one blocked event loop is one
  // failure (with how long it lasted), not a run of timeouts of the requests behind it.
  const awaitRecovery = async (iteration: number) => {
    const since = Date.now();
    for (;;) {
      const probe = await sendRaw(env.port, { method: 'GET', target: '/healthz', headers: [] }, { timeoutMs: 1000 });
      if (probe.outcome === 'ok' && probe.status === 200) break;
      // Bounded by what is left of the run (at least 10 s), so a blocked daemon cannot stall it.
      if (crashed !== undefined || Date.now() - since > Math.max(10_000, started + durationMs - Date.now())) break;
    }
    const blocked = Date.now() - since;
    if (blocked > 1000) failures.at(-1)!.reason += `; the daemon then answered nothing (not even /healthz) for another ${(blocked / 1000).toFixed(1)} s`;
    if (blocked > 1000) log(`  iteration ${iteration}: the daemon was unresponsive for ${(blocked / 1000).toFixed(1)} s after a hang`);
  };

  let next = 0;
  const worker = async () => {
    while (next < iterations && Date.now() - started < durationMs && crashed === undefined && !interrupted) {
      const iteration = next++;
      if (iteration % 250 === 0) {
        const data = await gql('{ jobs(first: 50) { edges { node { id } } } }').catch(() => undefined);
        if (data) world.jobIds = data.jobs.edges.map((e: { node: { id: string } }) => e.node.id);
        if (iteration > 0) log(`  … ${iteration} requests, ${failures.length} failures, ${Math.round((Date.now() - started) / 1000)} s`);
      }
      if (iteration > 0 && iteration % 2500 === 0) {
        const heap = await env.collectGarbage().catch(() => 0);
        peakHeap = Math.max(peakHeap, heap);
        log(`  … V8 heap used after a forced GC: ${mib(heap)} MiB, RSS ${mib(await residentBytes(env.pid))} MiB`);
      }
      await runOne(iteration);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  sent = windows.length;
  const elapsed = (Date.now() - started) / 1000;

  if (crashed !== undefined) {
    const last = windows.at(-1);
    fail('crash', `the daemon exited (${crashed}) during the run`, last?.iteration ?? -1, last?.describe() ?? '', env.tail());
  } else {
    // Let answered requests' work settle (jobs started, sockets closed) before measuring.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const alive = await sendRaw(env.port, { method: 'GET', target: '/healthz', headers: [] }, { timeoutMs: 10_000 });
    if (alive.status !== 200) fail('unresponsive', 'the daemon did not answer /healthz within 10 s at the end of the run', -1, '', describeResponse(alive));
    const heap = alive.status === 200 ? await env.collectGarbage() : 0;
    const rss = await residentBytes(env.pid);
    baseline ??= { rss, heap };
    const growth = rss - baseline.rss;
    const peak = Number(/^VmHWM:\s+(\d+) kB/m.exec(await readFile(`/proc/${env.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    log(`memory after a forced GC: RSS ${mib(baseline.rss)} → ${mib(rss)} MiB (${growth >= 0 ? '+' : ''}${mib(growth)}; bound +${mib(rssBoundBytes)} MiB), V8 heap used ${mib(baseline.heap)} → ${mib(heap)} MiB (largest sample ${mib(Math.max(peakHeap, heap))} MiB), peak RSS ${mib(peak)} MiB`);
    if (growth > rssBoundBytes) fail('rss', `RSS grew by ${mib(growth)} MiB over the run (bound ${mib(rssBoundBytes)} MiB)`, -1, '', `heap ${mib(baseline.heap)} → ${mib(heap)} MiB`);
    // The leak detector: what live JS objects hold after a collection.
    if (heap - baseline.heap > heapBoundBytes) fail('heap', `the V8 heap grew by ${mib(heap - baseline.heap)} MiB over the run (bound ${mib(heapBoundBytes)} MiB)`, -1, '', `RSS ${mib(baseline.rss)} → ${mib(rss)} MiB`);

    const metrics = await (await fetch(`${env.url}/metrics`, { headers: { authorization: `Bearer ${env.apiKey}` } })).text();
    const reached = new Set([...metrics.matchAll(/backplane_http_requests_total\{route="([^"]+)"/g)].map((m) => m[1]));
    const missed = routes.map(routeLabel).filter((label) => !reached.has(label));
    if (missed.length > 0 && sent >= 1000) fail('coverage', `routes never reached (per /metrics): ${missed.join('; ')}`, -1, '', '');
    else if (missed.length > 0) warnings.set(`routes not reached in this short run: ${missed.join('; ')}`, 1);
  }

  // Unexpected errors in the log: attributed to the request whose time window holds them.
  for (const record of env.problems) {
    if (!unexpectedLogMessages.test(record.msg) && record.level !== 'stderr') continue;
    // The request in flight then (log times are milliseconds, so allow the same millisecond), else the last one started before.
    const window = windows.find((w) => record.time >= w.start - 1 && record.time <= w.end + 1) ?? windows.findLast((w) => w.start <= record.time);
    fail(`log: ${record.msg.slice(0, 80)}`, `the daemon logged "${record.msg}"`, window?.iteration ?? -1, window?.describe() ?? '(no request in flight: background work)', record.line.slice(0, 1500));
  }

  const stoppedCleanly = await env.stop();
  if (crashed === undefined && !stoppedCleanly) fail('stop', 'the daemon did not stop cleanly on SIGTERM', -1, '', env.tail());

  for (const [i, c] of env.canaries.entries()) {
    const changes = diffTrees(canaryBefore[i], await snapshotTree(c.dir, c.exclude));
    for (const change of changes) fail(`files: ${c.dir}`, `outside the data dir: ${change}`, -1, '', '');
  }
  const untrackedAfter = await untrackedFiles(repoRoot);
  for (const file of untrackedAfter) if (!untrackedBefore.has(file)) fail('files: repo', `new untracked file in the checkout: ${file}`, -1, '', '');

  printSummary(elapsed);
} finally {
  if (env.isRunning()) await env.stop();
  await env.cleanup();
}
process.exitCode = failures.length > 0 ? 1 : 0;

function printSummary(elapsed: number) {
  log(`\n== fuzz summary (seed ${seed}): ${sent} requests in ${elapsed.toFixed(1)} s (${(sent / elapsed).toFixed(0)}/s)`);
  log('\nrequests per route family (status: count):');
  for (const [family, row] of [...perFamily].sort(([a], [b]) => a.localeCompare(b))) {
    const total = [...row.values()].reduce((a, b) => a + b, 0);
    log(`  ${family.padEnd(48)} ${String(total).padStart(6)}  ${[...row].sort().map(([s, n]) => `${s}:${n}`).join(' ')}`);
  }
  log(`\nstatuses: ${[...statuses].sort().map(([s, n]) => `${s}:${n}`).join(' ')}`);
  if (legacy500s.size > 0) {
    log('\ndocumented ilab-ui 500s (Go http.Error format, no unexpected error logged):');
    for (const [key, n] of [...legacy500s].sort()) log(`  ${String(n).padStart(5)}× ${oneLine(key, 160)}`);
  }
  const warnLines = env.problems.filter((p) => p.level === 'warn' || p.level === 'error');
  if (warnLines.length > 0) {
    const byMsg = new Map<string, number>();
    for (const p of warnLines) {
      const key = oneLine(`${p.level} ${p.msg}`, 100);
      byMsg.set(key, (byMsg.get(key) ?? 0) + 1);
    }
    log('\ndaemon warn/error log lines:');
    for (const [msg, n] of [...byMsg].sort((a, b) => b[1] - a[1]).slice(0, 25)) log(`  ${String(n).padStart(5)}× ${msg}`);
  }
  for (const [warning, n] of warnings) log(`\nwarning (${n}×): ${warning}`);
  for (const [key, n] of skipped) log(`\nskipped ${n} more cases of ${key}, which hung the daemon already`);
  if (failures.length === 0) {
    log(`\nPASS: no undocumented 5xx, no crash, no hang over ${hangMs / 1000} s, no file touched outside the data dir, RSS within bound`);
    return;
  }
  const groups = new Map<string, Failure[]>();
  for (const f of failures) groups.set(f.key, [...(groups.get(f.key) ?? []), f]);
  log(`\nFAIL: ${failures.length} failures in ${groups.size} groups`);
  for (const [key, list] of groups) {
    const first = list[0];
    log(`\n  ✗ ${oneLine(key, 160)} (${list.length}×)`);
    log(`    ${first.reason}${first.iteration >= 0 ? ` — iteration ${first.iteration}` : ''}`);
    if (first.reproducer) log(`    request: ${first.reproducer}`);
    if (first.answer) log(`    answer: ${first.answer}`);
  }
}

/** The first line of a message, control characters escaped. */
function oneLine(text: string, max: number): string {
  return escapeBytes(text.trim().split('\n')[0], max);
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
