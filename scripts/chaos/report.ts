import type { ChaosReport } from './run.ts';
import type { FindingKind } from './verify.ts';

const kinds: FindingKind[] = ['ran-twice', 'lost', 'wrong-status', 'log', 'stuck', 'phantom', 'duplicate-row'];

/** The final summary: counts first, then every finding (so a failure can be read without the work dir). */
export function formatReport(report: ChaosReport, seed: number): string[] {
  const { verdict, submissions } = report;
  const count = (kind: FindingKind) => verdict.findings.filter((f) => f.kind === kind).length;
  const groups = submissions.filter((s) => s.steps).length;
  const accepted = submissions.filter((s) => s.outcome === 'accepted').length;
  const lines = [
    `chaos summary (seed ${seed}, ${report.roundsRun} rounds):`,
    `  submitted       ${submissions.length} (${submissions.length - groups} jobs, ${groups} groups; ${accepted} accepted, ${submissions.filter((s) => s.outcome === 'rejected').length} refused, ${submissions.filter((s) => s.outcome === 'unknown').length} unanswered; ${submissions.filter((s) => s.cancelRequested).length} cancel requests)`,
    `  commands        ${verdict.commandsExpected} expected to run, ${verdict.ranOnce} ran once`,
    `  ran twice       ${verdict.ranTwice} (${verdict.ranTwiceAtOnce} with both runs alive at once)`,
    `  lost            ${count('lost')}`,
    `  wrong status    ${count('wrong-status')}`,
    `  wrong log       ${count('log')}`,
    `  stuck           ${count('stuck')}`,
    `  phantom runs    ${count('phantom') + count('duplicate-row')}`,
    `  orphans         ${report.orphans.length}`,
    `  integrity       ${report.integrity}`,
  ];
  if (report.malformedLedgerLines.length > 0) lines.push(`  torn ledger     ${report.malformedLedgerLines.length} line(s)`);
  const twice = verdict.findings.filter((f) => f.kind === 'ran-twice');
  if (twice.length > 0) {
    const after = new Map<string, number>();
    for (const f of twice) {
      const key = culprit(report, f.startsMs!.at(-1)!)?.mode ?? 'no kill';
      after.set(key, (after.get(key) ?? 0) + 1);
    }
    lines.push(`  second runs     after ${[...after].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${key} ${n}`).join(', ')}`);
  }
  for (const kind of kinds) {
    for (const f of verdict.findings.filter((x) => x.kind === kind)) {
      const round = f.startsMs ? culprit(report, f.startsMs.at(-1)!) : undefined;
      lines.push(`  [${kind}] ${f.tag}: ${f.detail}${round ? ` [second run after round ${round.round}: ${round.mode}, ${round.kill}]` : ''}`);
    }
  }
  for (const orphan of report.orphans) lines.push(`  [orphan] pid ${orphan.pid}: ${orphan.argv}`);
  for (const problem of report.problems) lines.push(`  [problem] ${problem.split('\n')[0]}`);
  lines.push(report.ok ? 'chaos: ok' : `chaos: FAILED (replay with --seed ${seed}; files kept in ${report.workDir})`);
  return lines;
}

/**
 * The round whose daemon ended last before a second run started. A supervisor a daemon spawned
 * may start its command after that daemon died, so the run's start time alone does not name the
 * daemon that launched it; the kill just before the second launch is the one that lost the record.
 */
function culprit(report: ChaosReport, startMs: number): ChaosReport['timeline'][number] | undefined {
  return report.timeline.filter((t) => t.toMs < startMs).at(-1);
}
