import { delay, startDaemon, within, type ChaosDaemon, type DaemonExit } from './daemon.ts';
import type { Random } from './random.ts';
import { cancel, randomSubmission, submit, type Submission } from './workload.ts';

/** How a round ends its daemon. */
export type KillMode = 'sigkill' | 'sigterm' | 'boot-kill' | 'launch-window' | 'stopping';

const modes: Record<KillMode, number> = { sigkill: 3, sigterm: 2, 'boot-kill': 2, 'launch-window': 3, stopping: 2 };

/** What every round shares: the daemon's files, the random source, and every submission so far. */
export interface RoundContext {
  random: Random;
  runId: string;
  configFile: string;
  daemonLog: (round: number) => string;
  submissions: Submission[];
  /** Boot-to-ready time of recent rounds (ms), so boot kills land inside the boot. */
  bootEstimateMs: number;
  readyTimeoutMs: number;
  stopGraceMs: number;
}

export interface RoundResult {
  mode: KillMode;
  /** How the kill landed, for the round's line. */
  detail: string;
  submitted: number;
  exit: DaemonExit;
  /** Something the round itself could not do (a boot that failed, a graceful stop that hung). */
  problems: string[];
}

/** One round: start the daemon, submit a random mix, kill it the chosen way, wait until it is gone. */
export async function runRound(ctx: RoundContext, round: number, current: { daemon?: ChaosDaemon }): Promise<RoundResult> {
  const { random } = ctx;
  const mode = random.weighted(modes);
  const daemon = startDaemon(ctx.configFile, ctx.daemonLog(round));
  current.daemon = daemon;
  const problems: string[] = [];
  const before = ctx.submissions.length;
  const finish = async (detail: string, exit: DaemonExit): Promise<RoundResult> => ({ mode, detail, submitted: ctx.submissions.length - before, exit, problems });

  if (mode === 'boot-kill') {
    const at = random.int(0, Math.round(ctx.bootEstimateMs * 1.1));
    const signal = random.chance(0.7) ? 'SIGKILL' : 'SIGTERM';
    void daemon.ready(ctx.readyTimeoutMs).catch(() => undefined);
    await within(daemon.exited, at);
    const phase = daemon.hasExited ? 'exited by itself' : daemon.readyAt === undefined ? 'before ready' : 'after ready';
    if (daemon.hasExited) problems.push(`the daemon exited during boot:\n${daemon.outputTail()}`);
    return finish(`${signal} at ${at} ms (${phase})`, await end(daemon, signal, ctx.stopGraceMs, problems));
  }

  try {
    await daemon.ready(ctx.readyTimeoutMs);
    ctx.bootEstimateMs = Math.round(ctx.bootEstimateMs * 0.7 + (daemon.readyAt! - daemon.spawnedAt) * 0.3);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
    return finish('never ready', await end(daemon, 'SIGKILL', ctx.stopGraceMs, problems));
  }

  const next = () => {
    const submission = randomSubmission(random, ctx.runId, ctx.submissions.length + 1, round);
    ctx.submissions.push(submission);
    return submission;
  };
  const cancels: Promise<void>[] = [];
  for (let i = random.int(1, 4); i > 0; i--) {
    await delay(random.int(0, 300));
    await submit(daemon, next());
    const cancellable = ctx.submissions.filter((s) => s.id && !s.steps && !s.cancelRequested);
    if (cancellable.length > 0 && random.chance(0.15)) cancels.push(cancel(daemon, random.pick(cancellable)));
  }

  let detail: string;
  let exit: DaemonExit;
  if (mode === 'sigkill' || mode === 'sigterm') {
    const at = random.int(0, 1_500);
    await delay(at);
    detail = `${mode === 'sigkill' ? 'SIGKILL' : 'SIGTERM'} ${at} ms after the last submit`;
    exit = await end(daemon, mode === 'sigkill' ? 'SIGKILL' : 'SIGTERM', ctx.stopGraceMs, problems);
  } else if (mode === 'launch-window') {
    const inFlight = random.chance(0.5);
    const at = random.int(0, inFlight ? 30 : 40);
    const pending = submit(daemon, next());
    if (!inFlight) await pending;
    await delay(at);
    detail = `SIGKILL ${at} ms after ${inFlight ? 'sending' : 'the reply to'} a submit`;
    exit = await end(daemon, 'SIGKILL', ctx.stopGraceMs, problems);
    await pending;
  } else {
    const at = random.int(0, 800);
    // A graceful stop takes a few hundred ms: most of these SIGKILLs land inside it.
    const after = random.int(0, 300);
    await delay(at);
    daemon.kill('SIGTERM');
    await within(daemon.exited, after);
    detail = `SIGTERM ${at} ms after the last submit, SIGKILL ${after} ms later${daemon.hasExited ? ' (already gone)' : ''}`;
    exit = await end(daemon, 'SIGKILL', ctx.stopGraceMs, problems);
  }
  await Promise.all(cancels);
  return finish(detail, exit);
}

/** Kills (or stops, for SIGTERM) and waits until the process is gone; a stop that hangs is a problem, then forced. */
export async function end(daemon: ChaosDaemon, signal: 'SIGKILL' | 'SIGTERM', stopGraceMs: number, problems: string[]): Promise<DaemonExit> {
  if (signal === 'SIGTERM') {
    const result = await daemon.stop(stopGraceMs);
    if (result.forced) problems.push(`a graceful stop took longer than ${stopGraceMs} ms; killed`);
    return result;
  }
  daemon.kill('SIGKILL');
  const exit = await within(daemon.exited, 10_000);
  if (!exit) throw new Error(`daemon ${daemon.pid} did not exit within 10 s of SIGKILL`);
  return exit;
}
