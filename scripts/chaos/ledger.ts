import { readFile } from 'node:fs/promises';

/** One run of a job's command, as its wrapper recorded it. */
export interface LedgerRun {
  pid: number;
  startNs: bigint;
  /** Absent when the command never reached its end (killed, or still running). */
  exitCode?: number;
  endNs?: bigint;
}

export interface Ledger {
  runs: Map<string, LedgerRun[]>;
  /** Lines that are neither a start nor an end record (a torn append would show here). */
  malformed: string[];
}

/** Reads the ledger the wrappers append to; an `end` belongs to the oldest open run of its tag. */
export async function readLedger(file: string): Promise<Ledger> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const runs = new Map<string, LedgerRun[]>();
  const malformed: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const start = /^start (\S+) (\d+) (\d+)$/.exec(line);
    const end = /^end (\S+) (\d+) (\d+)$/.exec(line);
    if (start) {
      const list = runs.get(start[1]) ?? [];
      list.push({ pid: Number(start[2]), startNs: BigInt(start[3]) });
      runs.set(start[1], list);
    } else if (end) {
      const open = runs.get(end[1])?.find((run) => run.exitCode === undefined);
      if (open) {
        open.exitCode = Number(end[2]);
        open.endNs = BigInt(end[3]);
      } else malformed.push(line);
    } else malformed.push(line);
  }
  return { runs, malformed };
}

/** Whether two runs of one tag were alive at the same time (a run without an end counts as never ending). */
export function overlapped(runs: readonly LedgerRun[]): boolean {
  const sorted = [...runs].sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
  return sorted.some((run, i) => i > 0 && (sorted[i - 1].endNs === undefined || sorted[i - 1].endNs! > run.startNs));
}

/** How many tags started more than once, for the per-round line. */
export function countRanTwice(ledger: Ledger): number {
  let count = 0;
  for (const list of ledger.runs.values()) if (list.length > 1) count++;
  return count;
}
