import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { JobEntity, type JobRow } from './job-entity.js';
import type { JobListFilter, JobRecord, JobStatus } from './job-service.js';

/** The columns a caller may change after insert. */
export type JobPatch = Partial<Omit<JobRow, 'id' | 'seq' | 'createdAt'>>;

export interface JobPage {
  records: JobRecord[];
  hasNextPage: boolean;
}

/** Job rows in the database: every call uses its own EntityManager fork. */
export class JobStore {
  readonly #fork: () => EntityManager;

  constructor(fork: () => EntityManager) {
    this.#fork = fork;
  }

  async insert(row: JobRow): Promise<JobRecord> {
    const em = this.#fork();
    await em.insert(JobEntity, row);
    return toRecord(row);
  }

  async update(id: string, patch: JobPatch): Promise<void> {
    await this.#fork().nativeUpdate(JobEntity, { id }, patch);
  }

  async row(id: string): Promise<JobRow | null> {
    return this.#fork().findOne(JobEntity, { id }, { disableIdentityMap: true });
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const row = await this.row(id);
    return row ? toRecord(row) : undefined;
  }

  async withStatus(statuses: JobStatus[]): Promise<JobRow[]> {
    return this.#fork().find(JobEntity, { status: { $in: statuses } }, { orderBy: { seq: 'asc' }, disableIdentityMap: true });
  }

  async list(filter: JobListFilter = {}): Promise<JobRecord[]> {
    const rows = await this.#fork().find(JobEntity, where(filter), { orderBy: { seq: 'desc' }, disableIdentityMap: true });
    return rows.map(toRecord);
  }

  /** Newest first; `after` is the seq cursor of the last job of the previous page. */
  async page(filter: JobListFilter, first: number, after: string | undefined): Promise<JobPage> {
    const query = where(filter) as Record<string, unknown>;
    if (after !== undefined) query.seq = { $lt: after };
    const rows = await this.#fork().find(JobEntity, query as FilterQuery<JobRow>, { orderBy: { seq: 'desc' }, limit: first + 1, disableIdentityMap: true });
    return { records: rows.slice(0, first).map(toRecord), hasNextPage: rows.length > first };
  }

  async count(filter: JobListFilter = {}): Promise<number> {
    return this.#fork().count(JobEntity, where(filter));
  }
}

function where(filter: JobListFilter): FilterQuery<JobRow> {
  const query: Record<string, unknown> = {};
  if (filter.status) query.status = filter.status;
  if (filter.plugin) query.plugin = filter.plugin;
  if (filter.kind) query.kind = filter.kind;
  if (filter.parentId) query.parentId = filter.parentId;
  return query as FilterQuery<JobRow>;
}

export function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    kind: row.kind,
    plugin: row.plugin,
    status: row.status as JobStatus,
    command: row.command,
    args: row.args,
    cwd: row.cwd ?? null,
    pid: row.pid ?? null,
    exitCode: row.exitCode == null ? null : Number(row.exitCode),
    signal: row.signal ?? null,
    logPath: row.logPath,
    createdAt: row.createdAt,
    startedAt: row.startedAt ?? null,
    finishedAt: row.finishedAt ?? null,
    parentId: row.parentId ?? null,
    labels: row.labels ?? {},
    progress: row.progress == null ? null : Number(row.progress),
    progressMessage: row.progressMessage ?? null,
    failureReason: row.failureReason ?? null,
    gpus: row.gpus ?? [],
  };
}
