import { overlapped, type Ledger, type LedgerRun } from './ledger.ts';
import { expectedLines, type Payload } from './payload.ts';
import type { Submission } from './workload.ts';

/** A chaos job or group as the daemon reports it after the final settle. */
export interface JobRow {
  id: string;
  status: string;
  exitCode: number | null;
  signal: string | null;
  failureReason: string | null;
  parentId: string | null;
  tag: string | null;
  /** The log's last 100,000 lines (single jobs only). */
  log?: string;
}

export type FindingKind = 'ran-twice' | 'lost' | 'wrong-status' | 'log' | 'stuck' | 'phantom' | 'duplicate-row';

export interface Finding {
  kind: FindingKind;
  tag: string;
  detail: string;
  /** For `ran-twice`: when each run started (ms since the epoch), to tell which daemon launched it. */
  startsMs?: number[];
}

export interface Verdict {
  findings: Finding[];
  /** Commands that must run exactly once: recorded jobs (single or a reached group step) without a cancel. */
  commandsExpected: number;
  /** Of those, how many did. */
  ranOnce: number;
  ranTwice: number;
  /** Of those, how many had both runs alive at once. */
  ranTwiceAtOnce: number;
}

const terminal = new Set(['succeeded', 'failed', 'cancelled']);

/** Checks every submission against the ledger (what really ran) and the daemon's final records. */
export function verify(submissions: readonly Submission[], rows: readonly JobRow[], ledger: Ledger): Verdict {
  const verdict: Verdict = { findings: [], commandsExpected: 0, ranOnce: 0, ranTwice: 0, ranTwiceAtOnce: 0 };
  const byTag = new Map<string, JobRow[]>();
  for (const row of rows) if (row.tag) byTag.set(row.tag, [...(byTag.get(row.tag) ?? []), row]);
  const rowOf = (tag: string) => {
    const found = byTag.get(tag) ?? [];
    if (found.length > 1) verdict.findings.push({ kind: 'duplicate-row', tag, detail: `${found.length} job rows: ${found.map((r) => r.id).join(', ')}` });
    return found[0];
  };
  const known = new Set<string>();

  for (const submission of submissions) {
    known.add(submission.tag);
    const row = rowOf(submission.tag);
    const mustExist = submission.outcome === 'accepted';
    if (submission.payload) {
      checkCommand(verdict, submission.tag, submission.payload, row, ledger.runs.get(submission.tag) ?? [], { mustExist, cancelRequested: submission.cancelRequested });
      continue;
    }
    const steps = submission.steps!;
    steps.forEach((_, i) => known.add(`${submission.tag}.s${i + 1}`));
    if (!row) {
      if (mustExist) verdict.findings.push({ kind: 'lost', tag: submission.tag, detail: `accepted as ${submission.id} but there is no job row` });
      steps.forEach((step, i) => checkCommand(verdict, `${submission.tag}.s${i + 1}`, step, rowOf(`${submission.tag}.s${i + 1}`), ledger.runs.get(`${submission.tag}.s${i + 1}`) ?? [], { mustExist: false, cancelRequested: false }));
      continue;
    }
    if (!terminal.has(row.status)) verdict.findings.push({ kind: 'stuck', tag: submission.tag, detail: `group ${row.id} is still ${row.status}` });
    let failedAt = 0;
    steps.forEach((step, i) => {
      const tag = `${submission.tag}.s${i + 1}`;
      const stepRow = rowOf(tag);
      const runs = ledger.runs.get(tag) ?? [];
      if (failedAt > 0) {
        if (stepRow || runs.length > 0) verdict.findings.push({ kind: 'wrong-status', tag, detail: `step ${i + 1} started although step ${failedAt} failed` });
        return;
      }
      if (stepRow && stepRow.parentId !== row.id) verdict.findings.push({ kind: 'wrong-status', tag, detail: `step belongs to ${stepRow.parentId}, not to its group ${row.id}` });
      checkCommand(verdict, tag, step, stepRow, runs, { mustExist: terminal.has(row.status), cancelRequested: false });
      if (runs[0]?.exitCode !== 0) failedAt = i + 1;
    });
    const expected = failedAt === 0 ? 'succeeded' : 'failed';
    if (terminal.has(row.status) && row.status !== expected) {
      verdict.findings.push({ kind: 'wrong-status', tag: submission.tag, detail: `group ${row.id} is ${row.status} (${row.failureReason ?? 'no reason'}), expected ${expected}${failedAt ? ` at step ${failedAt}` : ''}` });
    }
  }

  for (const [tag, runs] of ledger.runs) {
    if (!known.has(tag)) verdict.findings.push({ kind: 'phantom', tag, detail: `${runs.length} run(s) of a tag that was never submitted` });
  }
  return verdict;
}

function checkCommand(verdict: Verdict, tag: string, payload: Payload, row: JobRow | undefined, runs: LedgerRun[], options: { mustExist: boolean; cancelRequested: boolean }): void {
  const add = (kind: FindingKind, detail: string) => verdict.findings.push({ kind, tag, detail });
  const describe = (r: JobRow) => `${r.id} ${r.status}${r.exitCode != null ? ` exitCode=${r.exitCode}` : ''}${r.signal ? ` signal=${r.signal}` : ''}${r.failureReason ? ` (${r.failureReason})` : ''}`;
  if (runs.length > 1) {
    verdict.ranTwice++;
    const atOnce = overlapped(runs);
    if (atOnce) verdict.ranTwiceAtOnce++;
    verdict.findings.push({
      kind: 'ran-twice',
      tag,
      detail: `${runs.length} runs (pids ${runs.map((r) => r.pid).join(', ')}${atOnce ? ', alive at once' : ''}; exits ${runs.map((r) => r.exitCode ?? 'none').join(', ')}); job ${row ? describe(row) : 'has no row'}`,
      startsMs: runs.map((r) => Number(r.startNs / 1_000_000n)),
    });
  }
  if (!row) {
    if (options.mustExist) add('lost', 'accepted, but there is no job row');
    if (runs.length > 0) add('phantom', 'ran, but there is no job row');
    return;
  }
  if (!options.cancelRequested) {
    verdict.commandsExpected++;
    if (runs.length === 1) verdict.ranOnce++;
  }
  if (!terminal.has(row.status)) {
    add('stuck', `still ${row.status} after the settle`);
    return;
  }
  const first = runs[0];
  if (options.cancelRequested) {
    const ok =
      row.status === 'cancelled' ||
      (first?.exitCode !== undefined && matches(row, first.exitCode)) ||
      (first && first.exitCode === undefined && row.status === 'failed' && row.signal !== null);
    if (!ok) add('wrong-status', `cancel requested; ${describe(row)}, ran ${runs.length}×${first?.exitCode !== undefined ? ` and exited ${first.exitCode}` : ''}`);
  } else if (!first) {
    add('lost', `never started; ${describe(row)}`);
  } else if (first.exitCode === undefined) {
    add('lost', `started but never finished; ${describe(row)}`);
  } else if (!matches(row, first.exitCode)) {
    add('wrong-status', `the command exited ${first.exitCode}; ${describe(row)}`);
  }

  if (row.log === undefined) return;
  const prefix = `chaos ${tag} line `;
  const got = row.log.split('\n').filter((line) => line.startsWith(prefix));
  const want = expectedLines(tag, payload);
  const repeated = got.length - new Set(got).size;
  // A run that reached its end wrote every line; one that was killed (cancel) wrote a prefix.
  const complete = runs.some((run) => run.exitCode !== undefined);
  const exact = got.length === want.length && got.every((line, i) => line === want[i]);
  const prefixOk = got.length <= want.length && got.every((line, i) => line === want[i]);
  if (complete ? !exact : !prefixOk) {
    add('log', `expected ${complete ? '' : 'at most '}${want.length} payload line(s) once, in order; found ${got.length}${repeated ? `, ${repeated} repeated` : ''}`);
  }
}

function matches(row: JobRow, exitCode: number): boolean {
  return row.status === (exitCode === 0 ? 'succeeded' : 'failed') && row.exitCode === exitCode;
}
