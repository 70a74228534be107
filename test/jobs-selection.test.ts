import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeGoJson } from '../core/rest/go-json.ts';
import { jobsTestPlugin } from './helpers/jobs-test-plugin.ts';
import { findPostgresBin, startPostgres, type TestPostgres } from './helpers/postgres.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

// `jobs` reads only the columns of the fields a query selects (core/jobs/job-selection.ts), and
// `GET /jobs` selects a fixed few: each answer must be what reading every column gives.

let bp: TestDaemon;
let running: string;
let queued: string;
const base = BigInt(Date.now() - 3_600_000) * 1_000_000n;
const at = (i: number) => Number((base + BigInt(i) * 1_000_000_000n) / 1_000_000n);

/** Finished jobs written as rows (a restart would settle `running` rows), with every column set. */
const rows = [
  { status: 'succeeded', kind: 'train', plugin: 'ilab', command: '/usr/bin/ilab', args: ['model', 'train', '--data=<a&b>'], cwd: '/srv', pid: 4242, exitCode: 0, signal: null, started: 1, finished: 61, labels: { branch: 'feature-1', served_model_name: 'pre-train' }, progress: 1, progressMessage: 'step 4 of 4', failureReason: null, gpus: [0, 1] },
  { status: 'failed', kind: 'generate', plugin: 'ilab', command: '/usr/bin/ilab', args: ['data', 'generate', 'ünïcode ✓'], cwd: null, pid: 77, exitCode: 2, signal: null, started: 2, finished: 9, labels: { branch: 'main' }, progress: 0.25, progressMessage: null, failureReason: 'exited with code 2', gpus: [] },
  { status: 'failed', kind: 'serve', plugin: 'ilab', command: '/usr/bin/ilab', args: [], cwd: null, pid: 78, exitCode: null, signal: 'SIGKILL', started: 3, finished: 4, labels: {}, progress: null, progressMessage: null, failureReason: 'killed by SIGKILL', gpus: [3] },
  // Cancelled while queued: no pid, never started (start_time falls back to the creation time).
  { status: 'cancelled', kind: 'train', plugin: 'ilab', command: '/usr/bin/ilab', args: ['model', 'train'], cwd: null, pid: null, exitCode: null, signal: null, started: null, finished: 5, labels: { served_model_name: 'post-train' }, progress: null, progressMessage: null, failureReason: 'cancelled', gpus: [] },
  { status: 'succeeded', kind: 'pipeline', plugin: 'ilab', command: 'pipeline-generate-train', args: ['--branch', 'x'], cwd: null, pid: null, exitCode: null, signal: null, started: 6, finished: 100, labels: { branch: 'x' }, progress: null, progressMessage: null, failureReason: null, gpus: [] },
];
const rowId = (i: number) => `t-${base + BigInt(i) * 1_000_000_000n}`;
// The pipeline (row 4) is the parent of row 1.
const parentOf = (i: number) => (i === 1 ? rowId(4) : null);

beforeAll(async () => {
  // A first start creates the tables; the rows go in while the daemon is down.
  const first = await startTestDaemon({ plugins: [jobsTestPlugin] });
  await first.stop({ keepData: true });
  const db = new Database(path.join(first.dataDir, 'backplane.db'));
  const insert = db.prepare(
    'insert into bp_jobs (id, seq, kind, plugin, status, command, args, cwd, pid, exit_code, signal, log_path, created_at, started_at, finished_at, parent_id, labels, has_process, progress, progress_message, failure_reason, gpus) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)',
  );
  await mkdir(path.join(first.dataDir, 'logs'), { recursive: true });
  for (const [i, r] of rows.entries()) {
    const logPath = path.join(first.dataDir, 'logs', `${rowId(i)}.log`);
    await writeFile(logPath, `job ${i}\nline two\n`);
    const started = r.started === null ? null : at(i) + r.started * 1000;
    insert.run(rowId(i), base + BigInt(i) * 1_000_000_000n, r.kind, r.plugin, r.status, r.command, JSON.stringify(r.args), r.cwd, r.pid, r.exitCode, r.signal, logPath, at(i), started, at(i) + r.finished * 1000 + 7, parentOf(i), JSON.stringify(r.labels), r.progress, r.progressMessage, r.failureReason, JSON.stringify(r.gpus));
  }
  db.close();
  // One slot: the second live job stays queued behind the first.
  bp = await startTestDaemon({ plugins: [jobsTestPlugin], dataDir: first.dataDir, config: { jobs: { maxConcurrent: 1 } } });
  const start = async () => (await bp.gql('mutation { testStartJob(fixture: "job-sleep", args: ["60"]) }')).data.testStartJob as string;
  running = await start();
  queued = await start();
  await waitFor(async () => {
    const { data } = await bp.gql('query($id: ID!) { job(id: $id) { status logSize } }', { id: running });
    return data.job.status === 'running' && data.job.logSize > 0 ? true : undefined;
  });
});

afterAll(async () => {
  for (const id of [queued, running]) await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id });
  await bp.stop();
});

/** Every field of `Job`, as a selection. */
const everyField = [
  'id', 'kind', 'plugin', 'status', 'command', 'args', 'cwd', 'pid', 'exitCode', 'signal', 'logPath', 'createdAt', 'startedAt', 'finishedAt',
  'parentId', 'parent { id status }', 'children { id }', 'labels { key value }', 'branch: label(key: "branch")', 'progress', 'progressMessage',
  'failureReason', 'gpus', 'waitingFor', 'logSize', 'logExists', 'log(tail: 1)', '__typename',
];
/** The response key of a selection: its alias, else its field name. */
const keyOf = (selection: string) => (/^(\w+):/.exec(selection) ?? /^(\w+)/.exec(selection))![1];

const listAll = async (daemon = bp) => {
  const { data, errors } = await daemon.gql(`{ jobs(first: 50) { edges { cursor node { ${everyField.join(' ')} } } pageInfo { endCursor hasNextPage } } }`);
  expect(errors).toBeUndefined();
  return data.jobs as { edges: { cursor: string; node: Record<string, unknown> }[]; pageInfo: { endCursor: string } };
};

test('a jobs query selecting every field answers what reading the job by id does', async () => {
  const { edges, pageInfo } = await listAll();
  expect(edges.map((e) => e.node.id)).toEqual([queued, running, ...rows.map((_, i) => rowId(i)).reverse()]);
  for (const { cursor, node } of edges) {
    expect(cursor).toBe(String(node.id).slice(2));
    const { data } = await bp.gql(`query($id: ID!) { job(id: $id) { ${everyField.join(' ')} } }`, { id: node.id });
    expect(node).toEqual(data.job);
  }
  expect(pageInfo.endCursor).toBe(edges.at(-1)!.cursor);
  expect(edges[0].node).toMatchObject({ status: 'queued', waitingFor: expect.stringMatching(/^waiting for a job slot/) });
  expect(edges[1].node).toMatchObject({ status: 'running', pid: expect.any(Number), log: 'sleeping 60s\n' });
});

test('the rows come back with the values written, through the SQL read of every column', async () => {
  const { edges } = await listAll();
  const byId = new Map(edges.map((e) => [e.node.id, e.node]));
  for (const [i, r] of rows.entries()) {
    const started = r.started === null ? null : new Date(at(i) + r.started * 1000).toISOString();
    expect(byId.get(rowId(i))).toEqual({
      id: rowId(i), kind: r.kind, plugin: r.plugin, status: r.status, command: r.command, args: r.args, cwd: r.cwd, pid: r.pid, exitCode: r.exitCode, signal: r.signal,
      logPath: expect.stringMatching(new RegExp(`logs/${rowId(i)}\\.log$`)), createdAt: new Date(at(i)).toISOString(), startedAt: started,
      finishedAt: new Date(at(i) + r.finished * 1000 + 7).toISOString(), parentId: parentOf(i), parent: i === 1 ? { id: rowId(4), status: 'succeeded' } : null,
      children: i === 4 ? [{ id: rowId(1) }] : [], labels: Object.entries(r.labels).map(([key, value]) => ({ key, value })), branch: r.labels.branch ?? null,
      progress: r.progress, progressMessage: r.progressMessage, failureReason: r.failureReason, gpus: r.gpus, waitingFor: null,
      logSize: `job ${i}\nline two\n`.length, logExists: true, log: 'line two\n', __typename: 'Job',
    });
  }
});

/** Each field alone, read through its own few columns, has the value the full read gave. */
async function expectEachFieldAlone(daemon: TestDaemon, all: Record<string, unknown>[]) {
  for (const selection of everyField) {
    const { data, errors } = await daemon.gql(`{ jobs(first: 50) { edges { node { ${selection} } } } }`);
    expect(errors, selection).toBeUndefined();
    const key = keyOf(selection);
    expect(data.jobs.edges.map((e: { node: Record<string, unknown> }) => e.node), selection).toEqual(all.map((node) => ({ [key]: node[key] })));
  }
}

test('a jobs query selecting one field, or a few through fragments and aliases, gets the same values', async () => {
  const all = (await listAll()).edges.map((e) => e.node);
  await expectEachFieldAlone(bp, all);
  const { data } = await bp.gql(`{
    jobs(first: 3) { pageInfo { hasNextPage endCursor } edges { c: cursor node { ...Few ... on Job { started: startedAt } } } }
  } fragment Few on Job { st: status id }`);
  expect(data.jobs.edges).toEqual(all.slice(0, 3).map((node) => ({ c: String(node.id).slice(2), node: { st: node.status, id: node.id, started: node.startedAt } })));
  expect(data.jobs.pageInfo).toEqual({ hasNextPage: true, endCursor: String(all[2].id).slice(2) });
  const next = await bp.gql('query($after: String) { jobs(first: 50, after: $after) { edges { node { id finishedAt } } } }', { after: data.jobs.pageInfo.endCursor });
  expect(next.data.jobs.edges.map((e: { node: unknown }) => e.node)).toEqual(all.slice(3).map((node) => ({ id: node.id, finishedAt: node.finishedAt })));
});

test('GET /jobs answers the bytes the legacy list always gave, for jobs of every status', async () => {
  const { edges } = await listAll();
  const expected = encodeGoJson(edges.map(({ node }) => referenceLegacyJob(node)).reverse());
  const response = await bp.request('/jobs');
  expect(response.headers.get('content-type')).toBe('application/json');
  expect(await response.text()).toBe(expected);
  expect(expected).toContain('"status":"running"');
  expect(expected).toContain('\\u003ca\\u0026b\\u003e');
});

describe.skipIf(!findPostgresBin())('on PostgreSQL, which hands back parsed JSON and Date objects', () => {
  let pg: TestPostgres;
  let daemon: TestDaemon;
  beforeAll(async () => {
    pg = await startPostgres();
    daemon = await startTestDaemon({ plugins: [jobsTestPlugin], config: { database: { url: pg.url } } });
  });
  afterAll(async () => {
    await daemon?.stop();
    await pg?.stop();
  });

  test('partial and full listings agree with reading each job by id', async () => {
    const ids: string[] = [];
    for (const [fixture, args] of [['job-print', ['2']], ['job-sleep', ['0', '3']]] as const) {
      ids.push((await daemon.gql('mutation($f: String!, $a: [String!]!) { testStartJob(fixture: $f, args: $a) }', { f: fixture, a: args })).data.testStartJob);
    }
    await waitFor(async () => {
      const { data } = await daemon.gql('{ jobs(first: 50) { edges { node { status } } } }');
      return data.jobs.edges.every((e: { node: { status: string } }) => e.node.status === 'succeeded' || e.node.status === 'failed') ? true : undefined;
    });
    const { edges } = await listAll(daemon);
    expect(edges.map((e) => e.node.id)).toEqual([...ids].reverse());
    expect(edges[0].node).toMatchObject({ status: 'failed', exitCode: 3, args: ['0', '3'], labels: [{ key: 'fixture', value: 'job-sleep' }] });
    for (const { node } of edges) expect(node).toEqual((await daemon.gql(`query($id: ID!) { job(id: $id) { ${everyField.join(' ')} } }`, { id: node.id })).data.job);
    await expectEachFieldAlone(daemon, edges.map((e) => e.node));
  });
});

/** `GET /jobs`'s entry for a job, as job-routes.ts built it before listings read partial rows. */
function referenceLegacyJob(node: Record<string, unknown>) {
  const status = node.status === 'succeeded' ? 'finished' : node.status === 'failed' || node.status === 'cancelled' ? 'failed' : 'running';
  const labels = new Map((node.labels as { key: string; value: string }[]).map((l) => [l.key, l.value]));
  const job: Record<string, unknown> = {
    job_id: node.id,
    cmd: node.command,
    args: node.args,
    status,
    pid: node.pid ?? 0,
    log_file: `logs/${String(node.id)}.log`,
    start_time: referenceGoTime(String(node.startedAt ?? node.createdAt)),
  };
  if (node.finishedAt) job.end_time = referenceGoTime(String(node.finishedAt));
  job.branch = labels.get('branch') ?? '';
  job.served_model_name = labels.get('served_model_name') ?? '';
  return job;
}

/** Go's time.RFC3339 in local time, through Date#toISOString (the formatter's former code). */
function referenceGoTime(iso: string): string {
  const date = new Date(iso);
  const offsetMinutes = -date.getTimezoneOffset();
  const stamp = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 19);
  if (offsetMinutes === 0) return `${stamp}Z`;
  const abs = Math.abs(offsetMinutes);
  return `${stamp}${offsetMinutes > 0 ? '+' : '-'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
