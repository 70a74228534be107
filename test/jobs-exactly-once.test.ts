import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { configSchema } from '../core/config/schema.ts';
import { processStartTicks } from '../core/jobs/proc-stat.ts';
import { spawnDaemon, type DaemonProcess } from './helpers/daemon-process.ts';
import { fixturesDir } from './helpers/fixtures.ts';
import { waitFor } from './helpers/wait-for.ts';

// A supervisor held at its start (test/fixtures/supervisor-gate.mjs) is a launch in flight: the
// daemon recorded the attempt and spawned the supervisor, which has not claimed it yet.
const gateHook = `--import=${path.join(fixturesDir, 'supervisor-gate.mjs')}`;
const envAllowList = [...configSchema.parse({}).jobs.envAllowList, 'NODE_OPTIONS', 'BP_TEST_SUPERVISOR_GATE'];
const plugins = { 'jobs-test': { module: path.resolve('test/helpers/jobs-test-plugin.ts') } };
const jobQuery = 'query($id: ID!) { job(id: $id) { status exitCode failureReason pid } }';

let dir: string;
let truth: string;
const daemons: DaemonProcess[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bp-once-'));
  await mkdir(path.join(dir, 'data'));
  truth = path.join(dir, 'truth');
});
afterEach(async () => {
  await openGate('gate-a');
  for (const d of daemons.splice(0)) {
    d.process.kill('SIGKILL');
    await d.process;
  }
  await rm(dir, { recursive: true, force: true });
});

/** A daemon whose supervisors wait at `gate` (a directory) until it is opened; no gate: none wait. */
async function daemon(gate?: string): Promise<DaemonProcess> {
  const env: Record<string, string> = {};
  if (gate) {
    await mkdir(path.join(dir, gate), { recursive: true });
    Object.assign(env, { NODE_OPTIONS: gateHook, BP_TEST_SUPERVISOR_GATE: path.join(dir, gate) });
  }
  const d = await spawnDaemon(path.join(dir, 'data'), { plugins, log: { level: 'info' }, jobs: { onShutdown: 'keep', envAllowList } }, [], env);
  daemons.push(d);
  return d;
}

async function kill(d: DaemonProcess, signal: 'SIGKILL' | 'SIGTERM') {
  d.process.kill(signal);
  const result = await d.process;
  daemons.splice(daemons.indexOf(d), 1);
  return result;
}

async function openGate(gate: string) {
  if (existsSync(path.join(dir, gate))) await writeFile(path.join(dir, gate, 'open'), '');
}

/** Pids of supervisors held at the gate. */
async function held(gate: string): Promise<number[]> {
  const names = await readdir(path.join(dir, gate)).catch((): string[] => []);
  return names.filter((n) => n.startsWith('booting-')).map((n) => Number(n.slice('booting-'.length)));
}

/** The ground truth: one line per run of the job's command. */
async function runs(): Promise<number> {
  return (await readFile(truth, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
}

/** Whether a process runs (a zombie waiting to be reaped does not). */
const alive = async (pid: number) => (await processStartTicks(pid)) !== undefined;

async function startJob(d: DaemonProcess, seconds: number, exitCode: number): Promise<string> {
  const script = `echo run >> '${truth}'; sleep ${seconds}; exit ${exitCode}`;
  const result = await d.gql('mutation($a: [String!]!) { testStartJob(fixture: "sh", command: "/bin/sh", args: $a) }', { a: ['-c', script] });
  expect(result.errors).toBeUndefined();
  return result.data.testStartJob;
}

const job = async (d: DaemonProcess, id: string) => (await d.gql(jobQuery, { id })).data.job;
const ended = (d: DaemonProcess, id: string) => waitFor(async () => {
  const j = await job(d, id);
  return ['succeeded', 'failed', 'cancelled'].includes(j.status) ? j : undefined;
});

test('SIGKILL in the launch window, then the supervisor starts the job: the next daemon adopts it, and it ran once', async () => {
  const first = await daemon('gate-a');
  const id = await startJob(first, 1, 3);
  const [supervisor] = await waitFor(async () => ((await held('gate-a')).length === 1 ? held('gate-a') : undefined));
  expect((await job(first, id)).status).toBe('queued');
  await kill(first, 'SIGKILL');

  // The orphaned supervisor goes on: it claims the attempt and runs the command.
  await openGate('gate-a');
  await waitFor(async () => ((await runs()) === 1 ? true : undefined));

  const second = await daemon();
  expect(second.output()).toContain('adopted a job whose launch the previous daemon did not see through');
  expect(await ended(second, id)).toMatchObject({ status: 'failed', exitCode: 3, failureReason: 'exited with code 3' });
  await waitFor(async () => (!(await alive(supervisor)) ? true : undefined));
  expect(await runs()).toBe(1);
});

test('SIGKILL in the launch window, next daemon first: it fences the old attempt, runs the job once, and the old supervisor never does', async () => {
  const first = await daemon('gate-a');
  const id = await startJob(first, 0, 0);
  const [stale] = await waitFor(async () => ((await held('gate-a')).length === 1 ? held('gate-a') : undefined));
  await kill(first, 'SIGKILL');

  const second = await daemon();
  expect(second.output()).toContain('launch interrupted before its supervisor started the job; queued again');
  expect(await ended(second, id)).toMatchObject({ status: 'succeeded', exitCode: 0 });
  expect(await runs()).toBe(1);

  // The first daemon's supervisor wakes up to a fenced attempt and leaves without running it.
  await openGate('gate-a');
  await waitFor(async () => (!(await alive(stale)) ? true : undefined));
  expect(await runs()).toBe(1);
});

test('SIGTERM during a launch: stop fences it, the job stays queued, and runs once after the restart', async () => {
  const first = await daemon('gate-a');
  const id = await startJob(first, 0, 0);
  const [stale] = await waitFor(async () => ((await held('gate-a')).length === 1 ? held('gate-a') : undefined));
  const stopped = await kill(first, 'SIGTERM');
  expect(stopped.exitCode).toBe(0);
  await openGate('gate-a');
  await waitFor(async () => (!(await alive(stale)) ? true : undefined));
  expect(await runs()).toBe(0);

  const second = await daemon();
  expect(await ended(second, id)).toMatchObject({ status: 'succeeded' });
  expect(await runs()).toBe(1);
});

test('cancel during a launch: the attempt is fenced, the job is cancelled and never runs', async () => {
  const d = await daemon('gate-a');
  const id = await startJob(d, 0, 0);
  const [stale] = await waitFor(async () => ((await held('gate-a')).length === 1 ? held('gate-a') : undefined));
  const cancelled = await d.gql('mutation($id: ID!) { cancelJob(id: $id) { status pid startedAt } }', { id });
  expect(cancelled.data.cancelJob).toEqual({ status: 'cancelled', pid: null, startedAt: null });
  await openGate('gate-a');
  await waitFor(async () => (!(await alive(stale)) ? true : undefined));
  expect(await runs()).toBe(0);
  expect((await job(d, id)).status).toBe('cancelled');
});
