import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * The start time of a process in clock ticks since boot (/proc/<pid>/stat field 22), or
 * undefined when it does not exist. Together with the pid it names one process for good.
 */
export async function processStartTicks(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Whether `pid` is the very process that had `startTicks` (not a reused pid). */
export async function isSameProcessAlive(pid: number | null | undefined, startTicks: string | null | undefined): Promise<boolean> {
  if (!pid || pid <= 0) return false;
  const ticks = await processStartTicks(pid);
  if (ticks === undefined) return false;
  return startTicks == null || ticks === startTicks;
}

/**
 * Whether a live (non-zombie) process is left in the group `pgid`. Zombies are not counted:
 * orphans are reaped by init whenever it gets to it, but they no longer run.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
