/** What a chaos job's command does (see job-wrapper.sh): print, sleep, print, exit. */
export interface Payload {
  sleepMs: number;
  lines: number;
  exitCode: number;
}

export const payloadLimits = { sleepMs: 600_000, lines: 100_000, exitCode: 255 } as const;

/** Tags name jobs in the ledger, in argv and in `CHAOS_JOB_TAG`: `<run id>-j12`, `<run id>-g3.s2`. */
export const tagPattern = /^[a-z0-9][a-z0-9.-]{0,99}$/;

/** Returns why a payload is out of range, or undefined when it is fine. */
export function payloadProblem(payload: Payload): string | undefined {
  for (const key of ['sleepMs', 'lines', 'exitCode'] as const) {
    const value = payload[key];
    if (!Number.isInteger(value) || value < 0 || value > payloadLimits[key]) return `${key} must be an integer from 0 to ${payloadLimits[key]}`;
  }
  return undefined;
}

/** A group's steps travel in its recorded args, so a resumed group knows them after a restart. */
export function encodePayload(payload: Payload): string {
  return `${payload.sleepMs}:${payload.lines}:${payload.exitCode}`;
}

export function decodePayload(text: string): Payload {
  const [sleepMs, lines, exitCode] = text.split(':').map(Number);
  return { sleepMs, lines, exitCode };
}

/** The argv after the wrapper's path. */
export function wrapperArgs(ledger: string, tag: string, payload: Payload): string[] {
  return [ledger, tag, String(payload.sleepMs), String(payload.lines), String(payload.exitCode)];
}

/** The lines one complete run writes to the job's log, in order. */
export function expectedLines(tag: string, payload: Payload): string[] {
  return Array.from({ length: payload.lines }, (_, i) => `chaos ${tag} line ${i + 1}/${payload.lines}`);
}
