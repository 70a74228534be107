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

  /**
   * Records a launch attempt, only if the job is still `queued` with no attempt in flight (a
   * compare-and-set: two launches of one job cannot both get here).
   */
  async claimLaunch(id: string, token: string): Promise<boolean> {
    return (await this.#fork().nativeUpdate(JobEntity, { id, status: 'queued', launchToken: null }, { launchToken: token })) === 1;
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

  /**
   * Newest first; `after` is the seq cursor of the last job of the previous page. With `fields`,
   * only those columns are read and each record carries only those properties (and `id`): for
   * callers that read nothing else, such as the resolvers of the fields a query selected.
   */
  async page(filter: JobListFilter, first: number, after: string | undefined, fields?: readonly JobField[]): Promise<JobPage> {
    const { clause, params } = sqlWhere(filter, after);
    const records = await this.#select(clause, params, first + 1, fields);
    if (records.length > first) return { records: records.slice(0, first), hasNextPage: true };
    return { records, hasNextPage: false };
  }

  async #select(clause: string, params: unknown[], limit?: number, fields?: readonly JobField[]): Promise<JobRecord[]> {
    // The limit is literal: SQLite plans with a bound LIMIT's value, so it would re-prepare the
    // statement on every call. Callers use a few page sizes; each text keeps its statement.
    const sql = `select ${columnList(fields)} from bp_jobs ${clause} order by seq desc${limit === undefined ? '' : ` limit ${Math.floor(limit)}`}`;
    const rows = await this.#read(sql, params);
    for (const row of rows) fromSql(row);
    return rows as unknown as JobRecord[];
  }
}

/** A property of {@link JobRecord}, as a partial read names it. */
export type JobField = keyof JobRecord;

// Each property's column, aliased to the property's name so a row needs no copying.
const fieldColumns: Record<JobField, string> = {
  id: 'id',
  kind: 'kind',
  plugin: 'plugin',
  status: 'status',
  command: 'command',
  args: 'args',
  cwd: 'cwd',
  pid: 'pid',
  exitCode: 'exit_code as "exitCode"',
  signal: 'signal',
  logPath: 'log_path as "logPath"',
  createdAt: 'created_at as "createdAt"',
  startedAt: 'started_at as "startedAt"',
  finishedAt: 'finished_at as "finishedAt"',
  parentId: 'parent_id as "parentId"',
  labels: 'labels',
  progress: 'progress',
  progressMessage: 'progress_message as "progressMessage"',
  failureReason: 'failure_reason as "failureReason"',
  gpus: 'gpus',
};
const allFields = Object.keys(fieldColumns) as JobField[];
const allColumns = allFields.map((field) => fieldColumns[field]).join(', ');
const columnLists = new Map<string, string>();

/** The select list for `fields` (plus `id`), always in one order so equal sets share a statement. */
function columnList(fields: readonly JobField[] | undefined): string {
  if (fields === undefined) return allColumns;
  const wanted = new Set<JobField>(fields);
  wanted.add('id');
  const key = allFields.filter((field) => wanted.has(field)).join(',');
  let list = columnLists.get(key);
  if (list === undefined) {
    list = key.split(',').map((field) => fieldColumns[field as JobField]).join(', ');
    // At most 2^20 sets exist; a query can only ask for a handful of them.
    if (columnLists.size > 1000) columnLists.clear();
    columnLists.set(key, list);
  }
  return list;
}

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

// SQLite hands back JSON as text and times as epoch milliseconds; PostgreSQL parses both. Text,
// integer and double columns arrive as strings and numbers from both.
const json = <T>(value: unknown, fallback: T): T => (value == null ? fallback : typeof value === 'string' ? (JSON.parse(value) as T) : (value as T));
const date = (value: unknown): Date | null => (value == null ? null : value instanceof Date ? value : new Date(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : (value as number)));

/** Turns a row selected with {@link columnList} into its record in place (rows are fresh objects). */
function fromSql(row: Record<string, unknown>): void {
  if ('args' in row) row.args = json<string[]>(row.args, []);
  if ('createdAt' in row) row.createdAt = date(row.createdAt);
  if ('startedAt' in row) row.startedAt = date(row.startedAt);
  if ('finishedAt' in row) row.finishedAt = date(row.finishedAt);
  if ('labels' in row) row.labels = json<Record<string, string>>(row.labels, {});
  if ('gpus' in row) row.gpus = json<number[]>(row.gpus, []);
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
