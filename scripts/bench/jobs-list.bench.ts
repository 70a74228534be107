import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { report, runLoad } from './lib/load.ts';
import { cpuSecondsOf, repoRoot, spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * Job listing with 100,000 jobs in the database: the legacy `GET /jobs` (every job, Go JSON) and
 * `jobs(first: 50)`, each against a bare node:http + SQLite handler returning the same bytes.
 * Besides requests per second it reports each server's CPU per request (from /proc), which the
 * load of a shared machine disturbs far less than throughput.
 */
const total = 100_000;
const builtinsOff = { ilab: { enabled: false }, 'nvidia-smi': { enabled: false }, 'vllm-podman': { enabled: false } };
const setup = await spawnBenchDaemon({ plugins: builtinsOff });
await setup.stop({ keepData: true });

const file = path.join(setup.dataDir, 'backplane.db');
const db = new Database(file);
const insert = db.prepare(
  'insert into bp_jobs (id, seq, kind, plugin, status, command, args, log_path, created_at, started_at, finished_at, labels, has_process, gpus, exit_code) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)',
);
const base = BigInt(Date.now() - total * 1000) * 1_000_000n;
db.transaction(() => {
  for (let i = 0; i < total; i++) {
    const seq = base + BigInt(i) * 1_000_000_000n;
    const at = Number(seq / 1_000_000n);
    const failed = i % 10 === 0;
    insert.run(`t-${seq}`, seq, 'train', 'ilab', failed ? 'failed' : 'succeeded', '/usr/bin/ilab', JSON.stringify(['model', 'train', '--num-epochs=1']), `/var/lib/backplane/logs/t-${seq}.log`, at, at, at + 60_000, JSON.stringify({ branch: `feature-${i % 7}` }), '[]', failed ? 1 : 0);
  }
})();
db.close();

const daemon = await spawnBenchDaemon({ plugins: builtinsOff }, setup.dataDir);
const bare = execa(process.execPath, [path.join(repoRoot, 'scripts/bench/lib/bare-jobs-server.ts'), file], { buffer: false, reject: false });
const port = await new Promise<string>((resolve) => bare.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
const bareUrl = `http://127.0.0.1:${port}`;

const pageQuery = JSON.stringify({ query: '{ jobs(first: 50) { edges { cursor node { id status command createdAt } } } }' });
const cases = [
  { name: `GET /jobs (${total} jobs, legacy)`, path: '/jobs', method: 'GET', body: undefined, concurrency: 2, durationMs: 10_000 },
  { name: 'jobs(first: 50) over GraphQL', path: '/graphql', method: 'POST', body: pageQuery, concurrency: 16, durationMs: 4000 },
];
for (const c of cases) {
  const ours = await fetch(`${daemon.url}${c.path}`, { method: c.method, body: c.body, headers: { 'content-type': 'application/json' } }).then((r) => r.text());
  const theirs = await fetch(`${bareUrl}${c.path}`, { method: c.method, body: c.body, headers: { 'content-type': 'application/json' } }).then((r) => r.text());
  if (ours !== theirs) throw new Error(`${c.name}: the baseline does not return the same bytes`);
  const options = { method: c.method, body: c.body, headers: { 'content-type': 'application/json' }, concurrency: c.concurrency, durationMs: c.durationMs };
  const measure = async (url: string, pid: number) => {
    const cpu = await cpuSecondsOf(pid);
    const load = await runLoad({ ...options, url });
    return { ...load, cpuMsPerRequest: (((await cpuSecondsOf(pid)) - cpu) * 1000) / load.requests };
  };
  const a = await measure(`${daemon.url}${c.path}`, daemon.pid);
  const b = await measure(`${bareUrl}${c.path}`, bare.pid!);
  report(c.name, { rps: a.rps, p99ms: a.p99ms, cpu_ms_per_req: a.cpuMsPerRequest, bytes: Buffer.byteLength(ours) });
  report('  bare node:http + SQLite, same bytes', { rps: b.rps, p99ms: b.p99ms, cpu_ms_per_req: b.cpuMsPerRequest });
  report('  ratio (aim >= 0.5)', { rps_ratio: a.rps / b.rps, p99_ratio: b.p99ms / a.p99ms, cpu_ratio: b.cpuMsPerRequest / a.cpuMsPerRequest });
}
bare.kill();
await daemon.stop();
