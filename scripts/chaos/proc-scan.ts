import { readdir, readFile } from 'node:fs/promises';

export interface MarkedProcess {
  pid: number;
  argv: string;
}

/**
 * Processes whose argv or environment holds `marker` (the run id is in every job's argv, in
 * `CHAOS_JOB_TAG` of everything a job spawns, and in supervisors' spec paths). This process is skipped.
 */
export async function findMarkedProcesses(marker: string): Promise<MarkedProcess[]> {
  const found: MarkedProcess[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const [cmdline, environ] = await Promise.all([readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => ''), readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '')]);
    if (cmdline.includes(marker) || environ.includes(marker)) found.push({ pid: Number(entry), argv: cmdline.split('\0').join(' ').trim() });
  }
  return found;
}
