import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import YAML from 'yaml';
import { delay, startDaemon, type ChaosDaemon } from './daemon.ts';
import { countRanTwice, readLedger } from './ledger.ts';
import { findMarkedProcesses, type MarkedProcess } from './proc-scan.ts';
import { seededRandom } from './random.ts';
import { end, runRound, type RoundContext, type RoundResult } from './rounds.ts';
import { verify, type JobRow, type Verdict } from './verify.ts';
import type { Submission } from './workload.ts';

export interface ChaosOptions {
  rounds: number;
  seed: number;
  /** Keep the work directory (data dir, ledger, daemon logs) even when everything holds. */
  keep: boolean;
  maxConcurrent: number;
  /** How long the final daemon gets to finish every job. */
  settleTimeoutMs: number;
  /** No new round starts after this (ms since the run began); the final check still runs. */
  roundsDeadlineMs: number;
  print(line: string): void;
  /** Where the current daemon is, so a watchdog can kill it. */
  current: { daemon?: ChaosDaemon };
}

export interface ChaosReport {
  runId: string;
  workDir: string;
  roundsRun: number;
  submissions: Submission[];
  verdict: Verdict;
  orphans: MarkedProcess[];
  integrity: string;
  malformedLedgerLines: string[];
  /** Each daemon's life: the rounds' and the final one's (`mode` is how it was ended). */
  timeline: { round: number | 'final'; mode: string; kill: string; fromMs: number; toMs: number }[];
  /** Rounds that could not do their part, and problems of the final settle. */
  problems: string[];
  ok: boolean;
}

const jobsQuery = '{ jobs(first: 100000, plugin: "chaos") { edges { node { id kind status exitCode signal failureReason parentId tag: label(key: "chaosTag") } } } }';
const logQuery = 'query($id: ID!) { job(id: $id) { log(tail: 100000) } }';

/** The whole chaos test: rounds of start, submit, kill; then one settle and every check. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const began = Date.now();
  const runId = `c${began.toString(36)}${process.pid.toString(36)}`;
  const workDir = path.join(os.tmpdir(), `bp-chaos-${runId}`);
  const dataDir = path.join(workDir, 'data');
  const ledgerFile = path.join(workDir, 'ledger');
  const configFile = path.join(workDir, 'backplane.yaml');
  await mkdir(dataDir, { recursive: true });
  await writeFile(ledgerFile, '');
  await writeFile(
    configFile,
    YAML.stringify({
      dataDir,
      server: { host: '127.0.0.1', port: 0 },
      log: { level: 'info' },
      jobs: { maxConcurrent: options.maxConcurrent, killGraceSeconds: 2, onShutdown: 'keep' },
      plugins: {
        'nvidia-smi': { enabled: false },
        'vllm-podman': { enabled: false },
        ilab: { enabled: false },
        chaos: { module: path.join(import.meta.dirname, 'chaos-plugin.ts'), ledger: ledgerFile },
      },
    }),
  );
  options.print(`chaos: seed ${options.seed}, ${options.rounds} rounds, run ${runId}, work dir ${workDir}`);

  const ctx: RoundContext = {
    random: seededRandom(options.seed),
    runId,
    configFile,
    daemonLog: (round) => path.join(workDir, `daemon-${String(round).padStart(3, '0')}.log`),
    submissions: [],
    bootEstimateMs: 1_500,
    readyTimeoutMs: 60_000,
    stopGraceMs: 40_000,
  };
  const problems: string[] = [];
  const timeline: ChaosReport['timeline'] = [];
  let roundsRun = 0;
  for (let round = 1; round <= options.rounds; round++) {
    if (Date.now() - began > options.roundsDeadlineMs) {
      problems.push(`time limit: stopped after ${roundsRun} of ${options.rounds} rounds`);
      break;
    }
    const fromMs = Date.now();
    const result: RoundResult = await runRound(ctx, round, options.current);
    timeline.push({ round, mode: result.mode, kill: result.detail, fromMs, toMs: Date.now() });
    roundsRun++;
    const ledger = await readLedger(ledgerFile);
    const exit = result.exit.signal ?? `code ${result.exit.code}`;
    options.print(
      `round ${String(round).padStart(3)}/${options.rounds} ${result.mode.padEnd(13)} +${result.submitted} (${ctx.submissions.length} submitted, ${ledger.runs.size} started, ${countRanTwice(ledger)} ran twice) ${result.detail} → ${exit}`,
    );
    for (const problem of result.problems) problems.push(`round ${round}: ${problem}`);
  }

  // Settle: one last daemon finishes everything, then stops the normal way.
  const finalFromMs = Date.now();
  const daemon = startDaemon(configFile, path.join(workDir, 'daemon-final.log'));
  options.current.daemon = daemon;
  let rows: (JobRow & { kind: string })[] = [];
  try {
    await daemon.ready(ctx.readyTimeoutMs);
    const deadline = Date.now() + options.settleTimeoutMs;
    for (;;) {
      rows = await listRows(daemon);
      if (rows.every((row) => ['succeeded', 'failed', 'cancelled'].includes(row.status))) break;
      if (Date.now() > deadline) {
        problems.push(`settle: ${rows.filter((r) => !['succeeded', 'failed', 'cancelled'].includes(r.status)).length} job(s) still active after ${options.settleTimeoutMs} ms`);
        break;
      }
      await delay(300);
    }
    for (const row of rows) {
      if (row.kind !== 'chaos-job') continue;
      const reply = await daemon.gql<{ job: { log: string } | null }>(logQuery, { id: row.id }, 30_000);
      row.log = reply.data?.job?.log ?? '';
    }
  } catch (error) {
    problems.push(`settle: ${error instanceof Error ? error.message : String(error)}`);
  }
  await end(daemon, 'SIGTERM', ctx.stopGraceMs, problems);
  options.current.daemon = undefined;
  timeline.push({ round: 'final', mode: 'sigterm', kill: 'the final stop', fromMs: finalFromMs, toMs: Date.now() });

  // Everything ended, so nothing carrying the run id may be left (a supervisor or command may take a moment to exit).
  let orphans = await findMarkedProcesses(runId);
  for (let i = 0; i < 20 && orphans.length > 0; i++) {
    await delay(250);
    orphans = await findMarkedProcesses(runId);
  }
  const integrity = integrityCheck(path.join(dataDir, 'backplane.db'));
  // A daemon that refuses every job would pass every check: a refusal other than "stopping" is a problem.
  for (const s of ctx.submissions) if (s.outcome === 'rejected' && !s.error?.startsWith('UNAVAILABLE')) problems.push(`round ${s.round}: ${s.tag} refused: ${s.error}`);
  if (!ctx.submissions.some((s) => s.outcome === 'accepted')) problems.push('no job was accepted');
  const ledger = await readLedger(ledgerFile);
  const verdict = verify(ctx.submissions, rows, ledger);
  const ok = verdict.findings.length === 0 && orphans.length === 0 && integrity === 'ok' && ledger.malformed.length === 0 && problems.length === 0;

  // Leave nothing behind: the orphans are this run's own processes.
  for (const orphan of orphans) {
    try {
      process.kill(orphan.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (ok && !options.keep) await rm(workDir, { recursive: true, force: true });
  return { runId, workDir, roundsRun, submissions: ctx.submissions, verdict, timeline, orphans, integrity, malformedLedgerLines: ledger.malformed, problems, ok };
}

async function listRows(daemon: ChaosDaemon): Promise<(JobRow & { kind: string })[]> {
  const reply = await daemon.gql<{ jobs: { edges: { node: JobRow & { kind: string } }[] } }>(jobsQuery, undefined, 30_000);
  if (!reply.data) throw new Error(`jobs query failed: ${JSON.stringify(reply.errors)}`);
  return reply.data.jobs.edges.map((edge) => edge.node);
}

function integrityCheck(file: string): string {
  try {
    const db = new Database(file, { fileMustExist: true });
    try {
      return String(db.pragma('integrity_check', { simple: true }));
    } finally {
      db.close();
    }
  } catch (error) {
    return `could not open the database: ${error instanceof Error ? error.message : String(error)}`;
  }
}
