import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Dataset, Project, TrainingConfigRecord, TrainingJob } from './types.ts';

/** Everything the plugin persists. */
export interface TrainingState {
  next: { dataset: number; job: number; project: number; trait: number };
  /** Worker slots running when the pool last changed, restored at start. */
  pool_size?: number;
  config: TrainingConfigRecord | null;
  datasets: Dataset[];
  jobs: TrainingJob[];
  projects: Project[];
}

const empty = (): TrainingState => ({ next: { dataset: 1, job: 1, project: 1, trait: 1 }, config: null, datasets: [], jobs: [], projects: [] });

/**
 * The plugin's records, held in memory and written to `<plugin data dir>/state.json` (a temp
 * file renamed over it, so a crash leaves the old or the new file, never half of one). Writes
 * are coalesced: many changes in a tick cost one write.
 */
export class TrainingStore {
  readonly file: string;
  state: TrainingState = empty();
  readonly datasets = new Map<number, Dataset>();
  readonly jobs = new Map<string, TrainingJob>();
  readonly projects = new Map<string, Project>();
  #pending: Promise<void> | undefined;
  #dirty = false;
  #chain: Promise<void> = Promise.resolve();
  readonly #newestFirst = new Map<string, { size: number; version: number; items: unknown[] }>();
  #version = 0;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'state.json');
  }

  async load(): Promise<void> {
    const text = await readFile(this.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    this.state = text ? { ...empty(), ...(JSON.parse(text) as TrainingState) } : empty();
    for (const d of this.state.datasets) this.datasets.set(d.id, d);
    for (const j of this.state.jobs) this.jobs.set(j.id, j);
    for (const p of this.state.projects) this.projects.set(p.id, p);
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

  /** Schedules a write of the current state; resolves once it is on disk. */
  save(): Promise<void> {
    this.#version++;
    this.#dirty = true;
    this.#pending ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#pending = undefined;
      if (!this.#dirty) return;
      this.#dirty = false;
      this.state.datasets = [...this.datasets.values()];
      this.state.jobs = [...this.jobs.values()];
      this.state.projects = [...this.projects.values()];
      const text = JSON.stringify(this.state);
      const next = this.#chain.then(async () => {
        const tmp = `${this.file}.${process.pid}.tmp`;
        await writeFile(tmp, text, { mode: 0o600 });
        await rename(tmp, this.file);
      });
      this.#chain = next.catch(() => undefined);
      return next;
    });
    return this.#pending;
  }

  /** Waits for every scheduled write. */
  async flush(): Promise<void> {
    await this.#pending;
    await this.#chain;
  }
}
