import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { JobRow } from './job-entity.ts';
import { processStartTicks } from './proc-stat.ts';
import type { RunDir } from './run-dir.ts';
import type { SupervisorSpec } from './supervisor.ts';

const supervisorPath = fileURLToPath(new URL('./supervisor.ts', import.meta.url));

/** A new launch attempt's token (also in its file names). */
export function newLaunchToken(): string {
  return randomBytes(8).toString('hex');
}

export interface LaunchOptions {
  /** The attempt, already recorded on the job's row. */
  token: string;
  /** The job's environment, sent to the supervisor on its stdin. */
  env: Record<string, string>;
  /** The supervisor's own environment (the allowed part of the daemon's). */
  supervisorEnv: Record<string, string>;
  maxLogBytes: number;
  /** Checked after the run files are written and right before the supervisor is spawned. */
  shouldStart(): boolean;
}

/** How a launch attempt came out. */
export type Launch =
  /** The daemon fenced the attempt (cancel, stop) before a supervisor claimed it: nothing ran. */
  | { status: 'fenced' }
  /** The supervisor ended before it claimed the attempt (now fenced): nothing ran. */
  | { status: 'not-started' }
  /**
   * The supervisor claimed the attempt. `pid` is the command's once it started; undefined when
   * it could not start (the exit file says why) or the supervisor died first.
   */
  | {
      status: 'claimed';
      pid: number | undefined;
      pidStartTicks: string | undefined;
      supervisorPid: number | undefined;
      supervisorStartTicks: string | undefined;
      /** Settles when the supervisor process has ended. */
      ended: Promise<void>;
    };

/**
 * Writes the attempt's run files (`0600`, no environment values), spawns its supervisor detached
 * (see supervisor.ts) with the environment on stdin, and waits until the attempt is claimed and
 * the command has started, or it is fenced, or the supervisor ended.
 */
export async function launchSupervisor(row: JobRow, runDir: RunDir, options: LaunchOptions): Promise<Launch> {
  const { token } = options;
  await mkdir(runDir.dir, { recursive: true, mode: 0o700 });
  const spec: SupervisorSpec = {
    jobId: row.id,
    token,
    command: row.command,
    args: row.args,
    cwd: row.cwd ?? null,
    envKeys: Object.keys(options.env).sort(),
    logPath: row.logPath,
    claimPath: runDir.claimPath(token),
    statePath: runDir.statePath,
    exitPath: runDir.exitPath,
    socketPath: path.join(os.tmpdir(), `bp-${randomBytes(6).toString('hex')}.sock`),
    maxLogBytes: options.maxLogBytes,
    headerBytes: (await stat(row.logPath)).size,
  };
  await writeFile(runDir.specPath(token), JSON.stringify(spec), { mode: 0o600 });
  if (!options.shouldStart()) {
    if ((await runDir.fence(token)) === 'fenced') return { status: 'fenced' };
  }
  const errFd = openSync(runDir.supervisorErrPath, 'a', 0o600);
  const supervisor = spawn(process.execPath, ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', supervisorPath, runDir.specPath(token)], {
    detached: true,
    env: options.supervisorEnv,
    stdio: ['pipe', 'ignore', errFd],
  });
  closeSync(errFd);
  // A supervisor that dies before reading stdin closes the pipe; it then claims nothing.
  supervisor.stdin!.on('error', () => undefined);
  supervisor.stdin!.end(JSON.stringify(options.env));
  supervisor.unref();
  const ended = new Promise<void>((resolve) => {
    supervisor.once('exit', () => resolve());
    supervisor.once('error', () => resolve());
  });
  const gone = () => supervisor.exitCode !== null || supervisor.signalCode !== null || supervisor.pid === undefined;

  // First the claim (or a fence), then the command's pid through state.json (or an exit file at
  // once when the command cannot start).
  let claimedTicks: string | null | undefined;
  for (;;) {
    const claim = await runDir.readClaim(token);
    if (claim?.fenced) return { status: 'fenced' };
    if (claim) {
      claimedTicks = claim.supervisorStartTicks;
      break;
    }
    if (gone()) {
      await ended;
      const fenced = await runDir.fence(token);
      if (fenced === 'fenced') return { status: 'not-started' };
      claimedTicks = fenced.supervisorStartTicks;
      break;
    }
    await delay(5);
  }
  let state: { pid: number } | undefined;
  while (!state) {
    state = await runDir.readState();
    if (state || existsSync(runDir.exitPath) || gone()) break;
    await delay(5);
  }
  const pidStartTicks = state ? await processStartTicks(state.pid) : undefined;
  return { status: 'claimed', pid: state?.pid, pidStartTicks, supervisorPid: supervisor.pid, supervisorStartTicks: claimedTicks ?? undefined, ended };
}
