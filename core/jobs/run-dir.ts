import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JobPatch } from './job-store.ts';

/**
 * Who took a launch attempt (`claim-<token>`). A supervisor claims its attempt before it starts
 * the command; the daemon fences an attempt (cancel, stop, restart) so that no supervisor ever
 * will. The file is created once (hard link, fails if it exists), so exactly one of them wins.
 */
export type LaunchClaim = { fenced: true } | { fenced?: false; token: string; supervisorPid: number; supervisorStartTicks: string | null };

/** What a supervisor writes into `exit.json` when the command has ended (or could not start). */
export interface ExitFile {
  exitCode: number | null;
  signal: string | null;
  /** Set when the command could not start (`command not found: …`). */
  error?: string;
  finishedAt: string;
}

/**
 * The files of one job's run directory, `<dataDir>/run/<id>/`, shared with its supervisor. All
 * are written `0600`; none holds an environment value (the environment reaches the supervisor
 * through its stdin).
 */
export class RunDir {
  readonly dir: string;

  constructor(runRoot: string, id: string) {
    this.dir = path.join(runRoot, id);
  }

  /** What the supervisor of one launch attempt runs. */
  specPath(token: string): string {
    return path.join(this.dir, `spec-${token}.json`);
  }

  claimPath(token: string): string {
    return path.join(this.dir, `claim-${token}`);
  }

  readClaim(token: string): Promise<LaunchClaim | undefined> {
    return readJson(this.claimPath(token));
  }

  /**
   * Makes sure no supervisor ever runs this attempt. Resolves `fenced` when the attempt is now
   * (or already was) fenced, or with the supervisor's claim when one took it first.
   */
  async fence(token: string): Promise<'fenced' | Exclude<LaunchClaim, { fenced: true }>> {
    const claimPath = this.claimPath(token);
    const tmp = `${claimPath}.fence-${randomBytes(6).toString('hex')}`;
    // A cancel may come before the launch created the directory.
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(tmp, JSON.stringify({ fenced: true }), { mode: 0o600 });
    try {
      await link(tmp, claimPath);
      return 'fenced';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const claim = await this.readClaim(token);
      if (claim?.fenced) return 'fenced';
      // Unreadable means damaged, not free: count it as taken, so the attempt is never run twice.
      return claim ?? { token, supervisorPid: 0, supervisorStartTicks: null };
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /** Written by the supervisor once the command has started: `{ pid, supervisorPid, startedAt }`. */
  get statePath(): string {
    return path.join(this.dir, 'state.json');
  }

  get exitPath(): string {
    return path.join(this.dir, 'exit.json');
  }

  get supervisorErrPath(): string {
    return path.join(this.dir, 'supervisor.err');
  }

  readState(): Promise<{ pid: number; startedAt?: string } | undefined> {
    return readJson(this.statePath);
  }

  readExit(): Promise<ExitFile | undefined> {
    return readJson(this.exitPath);
  }
}

/**
 * How a job ends given its exit file: `succeeded` on exit 0, `cancelled` when a cancel was asked
 * for, otherwise `failed` with the reason (and `lost` when there is no exit file at all).
 */
export function exitOutcome(exit: ExitFile | undefined, cancelled: boolean): JobPatch {
  let outcome: JobPatch;
  if (!exit) {
    outcome = { status: cancelled ? 'cancelled' : 'failed', failureReason: cancelled ? null : 'lost: the job supervisor ended without recording an exit status' };
  } else if (exit.error) {
    outcome = { status: 'failed', failureReason: exit.error };
  } else if (cancelled) {
    outcome = { status: 'cancelled', exitCode: exit.exitCode, signal: exit.signal, failureReason: null };
  } else if (exit.exitCode === 0) {
    outcome = { status: 'succeeded', exitCode: 0, signal: null, failureReason: null };
  } else {
    outcome = {
      status: 'failed',
      exitCode: exit.exitCode,
      signal: exit.signal,
      failureReason: exit.signal ? `killed by signal ${exit.signal}` : `exited with code ${exit.exitCode}`,
    };
  }
  if (exit?.finishedAt) outcome.finishedAt = new Date(exit.finishedAt);
  return outcome;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
