import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, expect, test } from 'vitest';
import { readLedger } from '../scripts/chaos/ledger.ts';
import { expectedLines, wrapperArgs } from '../scripts/chaos/payload.ts';
import { findMarkedProcesses } from '../scripts/chaos/proc-scan.ts';
import { verify, type JobRow } from '../scripts/chaos/verify.ts';
import type { Submission } from '../scripts/chaos/workload.ts';
import { waitFor } from './helpers/wait-for.ts';

const wrapper = path.resolve('scripts/chaos/job-wrapper.sh');
const dirs: string[] = [];
const pids: number[] = [];

afterEach(async () => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bp-chaos-test-'));
  dirs.push(dir);
  return dir;
}

// The real thing, short: the daemon killed at random moments, every job checked against its ledger.
test('five rounds of random kills: every job runs once, with its real status, log and exit code', async () => {
  const seed = process.env.CHAOS_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
  const run = await execa(process.execPath, ['scripts/chaos/index.ts', '--rounds', '5', '--seed', seed, '--max-seconds', '85'], { reject: false, all: true, timeout: 100_000 });
  expect(run.all, `chaos seed ${seed}`).toContain('chaos: ok');
  expect(run.exitCode).toBe(0);
}, 110_000);

test('the wrapper records one start and one end and prints the payload in order, every third line on stderr', async () => {
  const dir = await tempDir();
  const ledger = path.join(dir, 'ledger');
  const payload = { sleepMs: 20, lines: 7, exitCode: 3 };
  const child = execa('/bin/sh', [wrapper, ...wrapperArgs(ledger, 'w1', payload)], { reject: false, all: true });
  const result = await child;
  expect(result.exitCode).toBe(3);
  expect(result.stderr.split('\n')).toEqual(['chaos w1 line 3/7', 'chaos w1 line 6/7']);
  expect(result.all!.split('\n').sort()).toEqual(expectedLines('w1', payload).sort());
  const runs = (await readLedger(ledger)).runs.get('w1')!;
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({ pid: child.pid, exitCode: 3 });
});

test('the checks flag a command run twice, a lost job, a wrong exit code and a repeated log; a clean job passes', async () => {
  const dir = await tempDir();
  const ledgerFile = path.join(dir, 'ledger');
  await writeFile(
    ledgerFile,
    ['start r-j1 10 1', 'end r-j1 0 2', 'start r-j2 11 3', 'start r-j2 12 4', 'end r-j2 0 5', 'end r-j2 0 6', 'start r-j4 13 7', 'end r-j4 4 8', ''].join('\n'),
  );
  const payload = { sleepMs: 0, lines: 2, exitCode: 0 };
  const submission = (tag: string, exitCode = 0): Submission => ({ tag, round: 1, shape: 'short', payload: { ...payload, exitCode }, longRunning: false, outcome: 'accepted', id: tag, cancelRequested: false });
  const row = (tag: string, status: string, exitCode: number | null, log: string[]): JobRow => ({ id: tag, status, exitCode, signal: null, failureReason: null, parentId: null, tag, log: log.join('\n') });
  const once = expectedLines('r-j1', payload);
  const twice = [...expectedLines('r-j2', payload), ...expectedLines('r-j2', payload)];
  const verdict = verify(
    [submission('r-j1'), submission('r-j2'), submission('r-j3'), submission('r-j4', 4)],
    [row('r-j1', 'succeeded', 0, ['[header]', ...once]), row('r-j2', 'succeeded', 0, twice), row('r-j3', 'failed', null, []), row('r-j4', 'succeeded', 0, expectedLines('r-j4', payload))],
    await readLedger(ledgerFile),
  );
  expect(verdict.findings.map((f) => `${f.kind} ${f.tag}`).sort()).toEqual(['log r-j2', 'lost r-j3', 'ran-twice r-j2', 'wrong-status r-j4']);
  expect(verdict).toMatchObject({ commandsExpected: 4, ranOnce: 2, ranTwice: 1, ranTwiceAtOnce: 1 });
});

test('the orphan scan finds a process by the marker in its environment or argv', async () => {
  const marker = `chaosmark${process.pid}x${Date.now()}`;
  const byEnv = spawn('sleep', ['30'], { env: { ...process.env, CHAOS_JOB_TAG: `${marker}-j1` }, stdio: 'ignore' });
  const byArgv = spawn('/bin/sh', ['-c', 'sleep 30', `${marker}-j2`], { stdio: 'ignore' });
  pids.push(byEnv.pid!, byArgv.pid!);
  const found = await waitFor(async () => {
    const list = (await findMarkedProcesses(marker)).map((p) => p.pid);
    return list.includes(byEnv.pid!) && list.includes(byArgv.pid!) ? list : undefined;
  });
  expect(found).toHaveLength(2);
  expect(await readFile('/proc/self/cmdline', 'utf8')).not.toContain(marker);
});
