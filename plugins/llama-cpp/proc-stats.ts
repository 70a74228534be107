import { readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc times (USER_HZ: 100 on every Linux architecture we run on). */
const ticksPerSecond = 100;

/** One reading of a process from /proc/<pid>/stat and /proc/<pid>/status. */
export interface ProcSample {
  /** Field 22: start time in ticks since boot; with the pid it names one process for good. */
  startTicks: string;
  /** utime + stime, in ticks. */
  cpuTicks: number;
  rssBytes: number | null;
  /** When the sample was taken (ms, monotonic enough for deltas: `performance.now()`). */
  at: number;
  /** Seconds since the process started. */
  uptimeSeconds: number | null;
}

let bootTimeSeconds: number | undefined;

async function bootTime(): Promise<number | undefined> {
  if (bootTimeSeconds !== undefined) return bootTimeSeconds;
  const stat = await readFile('/proc/stat', 'utf8').catch(() => '');
  const match = /^btime (\d+)$/m.exec(stat);
  bootTimeSeconds = match ? Number(match[1]) : undefined;
  return bootTimeSeconds;
}

/** Reads `pid` from /proc; undefined when it does not exist (or is a zombie). */
export async function sampleProcess(pid: number): Promise<ProcSample | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  const boot = await bootTime();
  const startTicks = fields[19];
  return {
    startTicks,
    cpuTicks: Number(fields[11]) + Number(fields[12]),
    rssBytes: rss ? Number(rss[1]) * 1024 : null,
    at: performance.now(),
    uptimeSeconds: boot === undefined ? null : Math.max(0, Math.round(Date.now() / 1000 - (boot + Number(startTicks) / ticksPerSecond))),
  };
}

/** CPU use between two samples of one process, in percent of one core. */
export function cpuPercent(previous: ProcSample | undefined, current: ProcSample): number | null {
  if (!previous || previous.startTicks !== current.startTicks) return null;
  const seconds = (current.at - previous.at) / 1000;
  if (seconds <= 0) return null;
  return Math.round(((current.cpuTicks - previous.cpuTicks) / ticksPerSecond / seconds) * 1000) / 10;
}
