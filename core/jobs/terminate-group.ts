import { setTimeout as delay } from 'node:timers/promises';
import { groupAlive, signalGroup } from './proc-stat.ts';

/**
 * SIGTERM to the whole process group, SIGKILL after `graceMs` if anything is left. Calls
 * `onEscalate` before the SIGKILL. Resolves at once when the group is already gone.
 */
export async function terminateGroup(pgid: number, graceMs: number, onEscalate?: () => void): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && groupAlive(pgid)) await delay(50);
  if (groupAlive(pgid)) {
    onEscalate?.();
    signalGroup(pgid, 'SIGKILL');
  }
}
