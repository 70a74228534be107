/**
 * Baseline for the job-listing benchmark: a bare node:http server reading the same SQLite file
 * with better-sqlite3 and returning the same bytes backplane returns for `GET /jobs` and for
 * `jobs(first: 50)`. Run as `node bare-jobs-server.ts <db file>`; prints its port.
 */
import http from 'node:http';
import Database from 'better-sqlite3';
import { legacyJobStatus } from '../../../core/jobs/job-routes.ts';
import { encodeGoJson } from '../../../core/rest/go-json.ts';
import { formatGoRfc3339 } from '../../../core/rest/go-time.ts';

interface Row {
  id: string;
  command: string;
  args: string;
  status: string;
  pid: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  labels: string;
}

const db = new Database(process.argv[2], { readonly: true });
const all = db.prepare('select id, command, args, status, pid, created_at, started_at, finished_at, labels from bp_jobs order by seq desc limit 100000');
const page = db.prepare('select id, seq, status, command, created_at from bp_jobs order by seq desc limit 50');

function legacyList(): string {
  const rows = all.all() as Row[];
  const jobs = rows.reverse().map((r) => {
    const labels = JSON.parse(r.labels) as Record<string, string>;
    const job: Record<string, unknown> = { job_id: r.id, cmd: r.command, args: JSON.parse(r.args), status: legacyJobStatus(r.status), pid: r.pid ?? 0, log_file: `logs/${r.id}.log`, start_time: formatGoRfc3339(new Date(r.started_at ?? r.created_at)) };
    if (r.finished_at) job.end_time = formatGoRfc3339(new Date(r.finished_at));
    job.branch = labels.branch ?? '';
    job.served_model_name = labels.served_model_name ?? '';
    return job;
  });
  return encodeGoJson(jobs.length === 0 ? null : jobs);
}

function firstPage(): string {
  const rows = page.all() as { id: string; seq: string; status: string; command: string; created_at: number }[];
  const edges = rows.map((r) => ({ cursor: String(r.seq), node: { id: r.id, status: r.status, command: r.command, createdAt: new Date(r.created_at).toISOString() } }));
  return JSON.stringify({ data: { jobs: { edges } } });
}

const server = http.createServer((req, res) => {
  req.resume();
  const body = req.url === '/jobs' ? legacyList() : firstPage();
  res.writeHead(200, { 'content-type': req.url === '/jobs' ? 'application/json' : 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => console.log((server.address() as { port: number }).port));
