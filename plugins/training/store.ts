import type { EntitySchema } from '@mikro-orm/core';
import type { DatabaseService, Logger } from '../../core/plugin-api.ts';
import {
  TrainingAllocationEntity,
  TrainingConfigEntity,
  TrainingCounterEntity,
  TrainingDatasetEntity,
  TrainingJobEntity,
  TrainingProjectEntity,
  TrainingTraitEntity,
  TrainingWorkerEntity,
} from './entities.ts';
import type { Dataset, Project, TrainingConfigRecord, TrainingJob, WorkerSlot } from './types.ts';

/** The id sequences and the config singleton. */
export interface TrainingState {
  /** The next number of each sequence; stored, so an id is never handed out twice (a deleted dataset's neither). */
  next: { dataset: number; job: number; project: number; trait: number };
  config: TrainingConfigRecord | null;
}

type Row = Record<string, unknown>;
type AnyEntity = EntitySchema<any>;

const terminal = new Set(['completed', 'failed', 'cancelled']);
const isTime = (key: string) => key.endsWith('_at') || key === 'last_activity';

/** A record → its row: the ISO times become Dates, `omit`ted fields are left out. */
function toRow(record: object, omit?: string): Row {
  const row: Row = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === omit) continue;
    row[key] = isTime(key) && typeof value === 'string' ? new Date(value) : value;
  }
  return row;
}

/** A row → a plain record (Dates back to ISO strings). */
function fromRow<T>(row: object): T {
  const record: Row = {};
  for (const [key, value] of Object.entries(row)) record[key] = value instanceof Date ? value.toISOString() : value;
  return record as T;
}

/** `job-12` → 12 (creation order; string order would put job-10 before job-2). */
const serial = (id: string) => Number(id.slice(id.lastIndexOf('-') + 1)) || 0;

/**
 * The plugin's records in the daemon's database (tables `training_*`, SQLite or PostgreSQL),
 * with the working set in memory: the service reads the maps synchronously and mutates the
 * records, then calls {@link save} with what it changed. Writes are coalesced (many changes in
 * a tick cost one transaction) and only changed rows are written.
 */
export class TrainingStore {
  readonly #db: DatabaseService;
  readonly #logger: Logger | undefined;
  state: TrainingState = { next: { dataset: 1, job: 1, project: 1, trait: 1 }, config: null };
  readonly datasets = new Map<number, Dataset>();
  readonly jobs = new Map<string, TrainingJob>();
  readonly projects = new Map<string, Project>();
  /** The worker pool's slots (few: each write compares them all). */
  readonly workers = new Map<string, WorkerSlot>();
  readonly #dirty = { datasets: new Set<number>(), jobs: new Set<string>(), projects: new Set<string>() };
  readonly #deletedDatasets = new Set<number>();
  /** Projects whose traits and allocations are stored (they never change once created). */
  readonly #traitsStored = new Set<string>();
  /** The JSON of each row as last written, by `<table>:<key>`: unchanged rows are skipped. */
  readonly #written = new Map<string, string>();
  #pending: Promise<void> | undefined;
  #chain: Promise<void> = Promise.resolve();
  readonly #newestFirst = new Map<string, { size: number; version: number; items: unknown[] }>();
  #version = 0;

  constructor(db: DatabaseService, logger?: Logger) {
    this.#db = db;
    this.#logger = logger;
  }

  async load(): Promise<void> {
    const em = this.#db.em();
    const all = async <T>(entity: AnyEntity): Promise<T[]> => ((await em.find(entity, {}, { disableIdentityMap: true })) as object[]).map((r) => fromRow<T>(r));
    const [datasets, jobs, projects, traits, allocations, workers, configs, counters] = await Promise.all([
      all<Dataset>(TrainingDatasetEntity),
      all<TrainingJob>(TrainingJobEntity),
      all<Omit<Project, 'traits'>>(TrainingProjectEntity),
      all<{ id: number; project_id: string; position: number; trait_type: Project['traits'][number]['trait_type'] }>(TrainingTraitEntity),
      all<{ trait_id: number; position: number; dataset_id: number; percentage: number }>(TrainingAllocationEntity),
      all<WorkerSlot>(TrainingWorkerEntity),
      all<TrainingConfigRecord>(TrainingConfigEntity),
      all<{ name: string; value: number }>(TrainingCounterEntity),
    ]);
    for (const d of datasets.sort((a, b) => a.id - b.id)) this.datasets.set(d.id, d);
    for (const j of jobs.sort((a, b) => serial(a.id) - serial(b.id))) this.jobs.set(j.id, j);
    const byTrait = new Map<number, Project['traits'][number]['datasets']>();
    for (const a of allocations.sort((x, y) => x.trait_id - y.trait_id || x.position - y.position)) {
      const list = byTrait.get(a.trait_id) ?? [];
      list.push({ dataset_id: a.dataset_id, percentage: a.percentage });
      byTrait.set(a.trait_id, list);
    }
    const byProject = new Map<string, Project['traits']>();
    for (const t of traits.sort((x, y) => x.position - y.position || x.id - y.id)) {
      const list = byProject.get(t.project_id) ?? [];
      list.push({ id: t.id, trait_type: t.trait_type, datasets: byTrait.get(t.id) ?? [] });
      byProject.set(t.project_id, list);
    }
    for (const p of projects.sort((a, b) => serial(a.id) - serial(b.id))) {
      this.projects.set(p.id, { ...p, traits: byProject.get(p.id) ?? [] });
      this.#traitsStored.add(p.id);
    }
    for (const w of workers.sort((a, b) => a.started_at.localeCompare(b.started_at))) this.workers.set(w.id, w);
    this.state.config = configs.find((c) => c.id === 1) ?? null;
    const counter = new Map(counters.map((c) => [c.name, c.value]));
    // The stored counter, but never below what the rows show (a counter write lost to a crash).
    const next = this.state.next;
    next.dataset = Math.max(counter.get('dataset') ?? 1, ...datasets.map((d) => d.id + 1));
    next.job = Math.max(counter.get('job') ?? 1, ...jobs.map((j) => serial(j.id) + 1));
    next.project = Math.max(counter.get('project') ?? 1, ...projects.map((p) => serial(p.id) + 1));
    next.trait = Math.max(counter.get('trait') ?? 1, ...traits.map((t) => t.id + 1));
    // What was read is what is stored.
    for (const w of this.workers.values()) this.#written.set(`w:${w.id}`, JSON.stringify(w));
    if (this.state.config) this.#written.set('config', JSON.stringify(this.state.config));
    this.#written.set('counters', JSON.stringify(next));
    for (const j of this.jobs.values()) if (!terminal.has(j.status)) this.#written.set(`j:${j.id}`, JSON.stringify(j));
  }

  /** A collection's values newest first, cached until the next change (lists page through it without copying it per request). */
  newestFirst<T>(name: 'datasets' | 'jobs' | 'projects'): T[] {
    const map = this[name] as Map<unknown, T>;
    const cached = this.#newestFirst.get(name);
    if (cached && cached.version === this.#version && cached.size === map.size) return cached.items as T[];
    const items = [...map.values()].reverse();
    this.#newestFirst.set(name, { size: map.size, version: this.#version, items });
    return items;
  }

  /** Removes a dataset (its row goes with the next write). */
  deleteDataset(id: number): Promise<void> {
    this.datasets.delete(id);
    this.#dirty.datasets.delete(id);
    this.#deletedDatasets.add(id);
    return this.save();
  }

  /**
   * Schedules a write of the given records (datasets, jobs and projects are told apart by their
   * ids: a number, `job-…`, `project-…`), plus every unfinished job, the worker slots, the
   * config and the counters when they changed; resolves once it is stored.
   */
  save(...changed: Array<Dataset | TrainingJob | Project>): Promise<void> {
    this.#version++;
    for (const record of changed) {
      if (typeof record.id === 'number') this.#dirty.datasets.add(record.id);
      else if (record.id.startsWith('job-')) this.#dirty.jobs.add(record.id);
      else this.#dirty.projects.add(record.id);
    }
    this.#pending ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#pending = undefined;
      const batch = this.#collect();
      const next = this.#chain.then(() => this.#write(batch));
      this.#chain = next.catch((error: unknown) => this.#logger?.error('training: cannot store its state', { error: (error as Error).message }));
      return next;
    });
    return this.#pending;
  }

  /** Waits for every scheduled write. */
  async flush(): Promise<void> {
    await this.#pending;
    await this.#chain;
  }

  /** The rows to write now (a snapshot: later mutations go with the next write). */
  #collect(): Map<AnyEntity, Row[]> & { deletes?: number[] } {
    const rows = new Map<AnyEntity, Row[]>() as Map<AnyEntity, Row[]> & { deletes?: number[] };
    const put = (entity: AnyEntity, key: string, record: object, omit?: string) => {
      const text = JSON.stringify(record);
      if (this.#written.get(key) === text) return;
      this.#written.set(key, text);
      const list = rows.get(entity) ?? [];
      list.push(toRow(record, omit));
      rows.set(entity, list);
    };
    for (const id of this.#dirty.datasets) {
      const d = this.datasets.get(id);
      if (d) put(TrainingDatasetEntity, `d:${id}`, d);
    }
    // Unfinished jobs are few and change in many places: compare them all.
    const jobs = new Set(this.#dirty.jobs);
    for (const j of this.jobs.values()) if (!terminal.has(j.status)) jobs.add(j.id);
    for (const id of jobs) {
      const j = this.jobs.get(id);
      if (!j) continue;
      put(TrainingJobEntity, `j:${id}`, j);
      // Ended jobs do not change again: forget their text.
      if (terminal.has(j.status)) this.#written.delete(`j:${id}`);
    }
    for (const id of this.#dirty.projects) {
      const p = this.projects.get(id);
      if (!p) continue;
      put(TrainingProjectEntity, `p:${id}`, p, 'traits');
      if (!this.#traitsStored.has(id)) {
        this.#traitsStored.add(id);
        p.traits.forEach((t, position) => {
          put(TrainingTraitEntity, `t:${t.id}`, { id: t.id, project_id: id, position, trait_type: t.trait_type });
          t.datasets.forEach((a, index) => put(TrainingAllocationEntity, `a:${t.id}:${index}`, { trait_id: t.id, position: index, project_id: id, dataset_id: a.dataset_id, percentage: a.percentage }));
        });
      }
    }
    for (const w of this.workers.values()) put(TrainingWorkerEntity, `w:${w.id}`, w);
    if (this.state.config) put(TrainingConfigEntity, 'config', this.state.config);
    const counters = this.state.next;
    if (this.#written.get('counters') !== JSON.stringify(counters)) {
      this.#written.set('counters', JSON.stringify(counters));
      rows.set(TrainingCounterEntity, Object.entries(counters).map(([name, value]) => ({ name, value })));
    }
    rows.deletes = [...this.#deletedDatasets];
    this.#deletedDatasets.clear();
    this.#dirty.datasets.clear();
    this.#dirty.jobs.clear();
    this.#dirty.projects.clear();
    // Slots removed from the pool (a restart drops the stopped ones) leave the table too.
    const goneWorkers = [...this.#written.keys()].filter((k) => k.startsWith('w:') && !this.workers.has(k.slice(2)));
    for (const k of goneWorkers) this.#written.delete(k);
    if (goneWorkers.length > 0) rows.set(WORKER_DELETES, goneWorkers.map((k) => ({ id: k.slice(2) })));
    return rows;
  }

  async #write(batch: Map<AnyEntity, Row[]> & { deletes?: number[] }): Promise<void> {
    if (batch.size === 0 && !batch.deletes?.length) return;
    await this.#db.em().transactional(async (em) => {
      for (const [entity, rows] of batch) {
        if (entity === WORKER_DELETES) {
          await em.nativeDelete(TrainingWorkerEntity, { id: { $in: rows.map((r) => r.id as string) } });
          continue;
        }
        for (let i = 0; i < rows.length; i += 200) await em.upsertMany(entity, rows.slice(i, i + 200));
      }
      if (batch.deletes?.length) await em.nativeDelete(TrainingDatasetEntity, { id: { $in: batch.deletes } });
    });
  }
}

/** A marker key of {@link TrainingStore}'s write batch: worker slots to delete. */
const WORKER_DELETES = {} as AnyEntity;
