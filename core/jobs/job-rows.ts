import type { JobRow } from './job-entity.ts';
import type { JobGroupSpec, JobSpec } from './job-service.ts';

/** Who and where: the parts of a new row that the runner decides, not the plugin. */
export interface NewRowIdentity {
  id: string;
  seq: bigint;
  plugin: string;
  logPath: string;
}

const unset = {
  pid: null,
  pidStartTicks: null,
  supervisorPid: null,
  supervisorStartTicks: null,
  exitCode: null,
  signal: null,
  finishedAt: null,
  cancelRequestedAt: null,
  progress: null,
  progressMessage: null,
  failureReason: null,
  gpus: [],
  launchToken: null,
} as const;

/** The row of a job with a process, `queued` until its supervisor reports the command started. */
export function processJobRow({ id, seq, plugin, logPath }: NewRowIdentity, spec: JobSpec): JobRow {
  return {
    ...unset,
    id,
    seq: String(seq),
    kind: spec.kind,
    plugin,
    status: 'queued',
    command: spec.command,
    args: [...spec.args],
    env: spec.env ?? null,
    cwd: spec.cwd ?? null,
    logPath,
    createdAt: new Date(),
    startedAt: null,
    parentId: spec.parentId ?? null,
    labels: spec.labels ?? {},
    hasProcess: true,
    longRunning: spec.longRunning === true,
    gpus: [],
    gpuRequest: spec.gpus ?? null,
  } as JobRow;
}

/** The row of a group job (a pipeline): `running` from the start, settled by its plugin. */
export function groupJobRow({ id, seq, plugin, logPath }: NewRowIdentity, spec: JobGroupSpec): JobRow {
  const now = new Date();
  return {
    ...unset,
    id,
    seq: String(seq),
    kind: spec.kind,
    plugin,
    status: 'running',
    command: spec.command,
    args: [...spec.args],
    env: null,
    cwd: null,
    logPath,
    createdAt: now,
    startedAt: now,
    parentId: spec.parentId ?? null,
    labels: spec.labels ?? {},
    hasProcess: false,
    longRunning: false,
    gpus: [],
    gpuRequest: null,
  } as JobRow;
}
