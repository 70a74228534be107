import { ConflictError, type DatabaseService } from '../../core/plugin-api.ts';
import { TritonModelEntity, TritonServerEntity, type TritonModelRow } from './entities.ts';
import type { TritonServerSpec } from './types.ts';

/** One collator for every sort: `localeCompare` with options builds one per call. */
const byId = new Intl.Collator('en', { numeric: true });

/**
 * The registered servers and known models: kept in memory for reads, written through to
 * `triton_servers` / `triton_models` on every change.
 */
export class ServerStore {
  readonly #servers = new Map<string, TritonServerSpec>();
  readonly #db: DatabaseService;

  constructor(db: DatabaseService) {
    this.#db = db;
  }

  async load(): Promise<void> {
    const rows = await this.#db.em().find(TritonServerEntity, {}, { disableIdentityMap: true });
    for (const row of rows) this.#servers.set(row.id, { id: row.id, host: row.host, httpPort: row.httpPort, metricsPort: row.metricsPort ?? null, gpus: row.gpus, repositoryPath: row.repositoryPath ?? null, createdAt: row.createdAt, updatedAt: row.updatedAt });
  }

  get(id: string): TritonServerSpec | undefined {
    return this.#servers.get(id);
  }

  /** In id order (`t2` before `t10`). */
  list(): TritonServerSpec[] {
    return [...this.#servers.values()].sort((a, b) => byId.compare(a.id, b.id));
  }

  /** The next free `t<N>`. */
  nextId(): string {
    let n = this.#servers.size + 1;
    while (this.#servers.has(`t${n}`)) n++;
    return `t${n}`;
  }

  /** Refuses a second server with the same id, or at the same address and port. */
  checkUnique(spec: { id: string; host: string; httpPort: number }, except?: string): void {
    if (spec.id !== except && this.#servers.has(spec.id)) throw new ConflictError(`Triton server '${spec.id}' is already registered`, { details: { server: spec.id } });
    const same = [...this.#servers.values()].find((s) => s.id !== except && s.host === spec.host && s.httpPort === spec.httpPort);
    if (same) throw new ConflictError(`A Triton server at ${spec.host}:${spec.httpPort} is already registered as '${same.id}'`, { details: { server: same.id } });
  }

  async insert(spec: TritonServerSpec): Promise<TritonServerSpec> {
    this.checkUnique(spec);
    // Reserved before the write, so two concurrent registrations cannot both pass the check.
    this.#servers.set(spec.id, spec);
    try {
      await this.#db.em().insert(TritonServerEntity, { ...spec });
    } catch (error) {
      this.#servers.delete(spec.id);
      throw error;
    }
    return spec;
  }

  async update(spec: TritonServerSpec): Promise<TritonServerSpec> {
    this.checkUnique(spec, spec.id);
    await this.#db.em().nativeUpdate(TritonServerEntity, { id: spec.id }, { ...spec });
    this.#servers.set(spec.id, spec);
    return spec;
  }

  async delete(id: string): Promise<boolean> {
    if (!this.#servers.has(id)) return false;
    await this.#db.em().nativeDelete(TritonServerEntity, { id });
    this.#servers.delete(id);
    return true;
  }

  async models(): Promise<TritonModelRow[]> {
    return this.#db.em().find(TritonModelEntity, {}, { disableIdentityMap: true, orderBy: { id: 'asc' } });
  }

  async model(id: string): Promise<TritonModelRow | null> {
    return this.#db.em().findOne(TritonModelEntity, { id }, { disableIdentityMap: true });
  }

  /** Records a model (created once; later calls only touch `updatedAt` and the fields given). */
  async putModel(id: string, change: { serverId?: string | null; description?: string | null } = {}): Promise<void> {
    const em = this.#db.em();
    const now = new Date();
    const updated = await em.nativeUpdate(TritonModelEntity, { id }, { ...change, updatedAt: now });
    if (updated === 0) await em.insert(TritonModelEntity, { id, serverId: change.serverId ?? null, description: change.description ?? null, createdAt: now, updatedAt: now });
  }

  async deleteModel(id: string): Promise<void> {
    await this.#db.em().nativeDelete(TritonModelEntity, { id });
  }
}
