import type { EntityManager } from '@mikro-orm/core';
import type { SqlReader } from '../db/sql-reader.ts';
import { JobEntity, type JobRow } from './job-entity.ts';
import type { JobListFilter, JobRecord, JobStatus } from './job-service.ts';

/** The columns a caller may change after insert. */
export type JobPatch = Partial<Omit<JobRow, 'id' | 'seq' | 'createdAt'>>;

export interface JobPage {
  records: JobRecord[];
  hasNextPage: boolean;
}

/** Job rows in the database: every call uses its own EntityManager fork. */
export class JobStore {
  readonly #fork: () => EntityManager;
  readonly #read: SqlReader;

  constructor(fork: () => EntityManager, read: SqlReader) {
    this.#fork = fork;
    this.#read = read;
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

  // Reads that serve API calls go through plain SQL: hydrating entities costs ~10x more than the
  // query itself (4 ms for a page of 50, 3.7 s for 100,000 rows; see docs/performance.md).
  async get(id: string): Promise<JobRecord | undefined> {
    const rows = await this.#select('where id = ?', [id], 1);
    return rows[0];
  }

  async withStatus(statuses: JobStatus[]): Promise<JobRow[]> {
    return this.#fork().find(JobEntity, { status: { $in: statuses } }, { orderBy: { seq: 'asc' }, disableIdentityMap: true });
  }

  async list(filter: JobListFilter = {}): Promise<JobRecord[]> {
    const { clause, params } = sqlWhere(filter);
    return this.#select(clause, params);
  }

  /** Newest first; `after` is the seq cursor of the last job of the previous page. */
  async page(filter: JobListFilter, first: number, after: string | undefined): Promise<JobPage> {
    const { clause, params } = sqlWhere(filter, after);
    const records = await this.#select(clause, params, first + 1);
    return { records: records.slice(0, first), hasNextPage: records.length > first };
  }

  async #select(clause: string, params: unknown[], limit?: number): Promise<JobRecord[]> {
    const sql = `select ${columns} from bp_jobs ${clause} order by seq desc${limit === undefined ? '' : ` limit ${Math.floor(limit)}`}`;
    return (await this.#read(sql, params)).map(fromSql);
  }
}

const columns = 'id, kind, plugin, status, command, args, cwd, pid, exit_code, signal, log_path, created_at, started_at, finished_at, parent_id, labels, progress, progress_message, failure_reason, gpus';

function sqlWhere(filter: JobListFilter, before?: string): { clause: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  for (const [column, value] of [['status', filter.status], ['plugin', filter.plugin], ['kind', filter.kind], ['parent_id', filter.parentId]] as const) {
    if (value === undefined) continue;
    parts.push(`${column} = ?`);
    params.push(value);
  }
  if (before !== undefined) {
    parts.push('seq < ?');
    params.push(before);
  }
  return { clause: parts.length > 0 ? `where ${parts.join(' and ')}` : '', params };
}

// SQLite hands back JSON as text and times as epoch milliseconds; PostgreSQL parses both.
const json = <T>(value: unknown, fallback: T): T => (value == null ? fallback : typeof value === 'string' ? (JSON.parse(value) as T) : (value as T));
const date = (value: unknown): Date | null => (value == null ? null : value instanceof Date ? value : new Date(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : (value as number)));
const num = (value: unknown): number | null => (value == null ? null : Number(value));
const str = (value: unknown): string | null => (value == null ? null : String(value));

function fromSql(row: Record<string, unknown>): JobRecord {
  return {
    id: String(row.id),
    kind: String(row.kind),
    plugin: String(row.plugin),
    status: row.status as JobStatus,
    command: String(row.command),
    args: json<string[]>(row.args, []),
    cwd: str(row.cwd),
    pid: num(row.pid),
    exitCode: num(row.exit_code),
    signal: str(row.signal),
    logPath: String(row.log_path),
    createdAt: date(row.created_at)!,
    startedAt: date(row.started_at),
    finishedAt: date(row.finished_at),
    parentId: str(row.parent_id),
    labels: json<Record<string, string>>(row.labels, {}),
    progress: num(row.progress),
    progressMessage: str(row.progress_message),
    failureReason: str(row.failure_reason),
    gpus: json<number[]>(row.gpus, []),
  };
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
