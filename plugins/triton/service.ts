import { InputError, NotFoundError, confinePath, createConcurrencyLimit, type EndpointRegistry, type Logger, type PubSubService, type UploadService } from '../../core/plugin-api.ts';
import { stat } from 'node:fs/promises';
import type { TritonConfig } from './config.ts';
import { healthChanged, probeHealth, unknownHealth } from './health.ts';
import { IndexTracker, modelsTopic } from './index-tracker.ts';
import { tritonMetrics } from './metrics.ts';
import { RepositoryOps } from './repository-ops.ts';
import type { ServerStore } from './server-store.ts';
import { serverLabel, type TritonClient } from './triton-client.ts';
import type { TritonFleet, TritonFleetModel, TritonHealth, TritonIndexEntry, TritonMetrics, TritonModelStats, TritonServer, TritonServerMetadata, TritonServerOutcome, TritonServerSpec } from './types.ts';
import { checkModelArgs, loadInputSchema, modelNameSchema, registerInputSchema, serverIdSchema, updateInputSchema, validate, type LoadInput, type RegisterInput, type UpdateInput } from './validation.ts';

/** The pubsub topic of server health changes (`triton:servers` from outside the plugin). */
export const serversTopic = 'servers';

export interface TritonServiceDeps {
  config: TritonConfig;
  logger: Logger;
  store: ServerStore;
  client: TritonClient;
  pubsub: PubSubService;
  uploads: UploadService | undefined;
  endpoints: EndpointRegistry | undefined;
}

/**
 * The plugin's runtime API (what `init` returns): servers, their probes, models on each server
 * and across the fleet. Fan-out to many servers runs concurrently under `fanOutConcurrency`.
 */
export class TritonService {
  readonly serversTopic = `triton:${serversTopic}`;
  readonly modelsTopic = `triton:${modelsTopic}`;
  readonly #d: TritonServiceDeps;
  readonly #health = new Map<string, TritonHealth>();
  readonly #tracker: IndexTracker;
  /** Writes to servers' local repositories (uploads, versions, deletes). */
  readonly repositories: RepositoryOps;
  readonly #limit: <T>(task: () => Promise<T>) => Promise<T>;

  constructor(deps: TritonServiceDeps) {
    this.#d = deps;
    this.#limit = createConcurrencyLimit(deps.config.fanOutConcurrency);
    this.#tracker = new IndexTracker({ pubsub: deps.pubsub, endpoints: deps.endpoints });
    this.repositories = new RepositoryOps(this, { config: deps.config, logger: deps.logger, store: deps.store, uploads: deps.uploads });
  }

  // ---- servers

  list(): TritonServer[] {
    return this.#d.store.list().map((s) => this.#view(s));
  }

  get(id: string): TritonServer | undefined {
    const spec = this.#d.store.get(id);
    return spec ? this.#view(spec) : undefined;
  }

  /** The server or NOT_FOUND naming it. */
  require(id: string): TritonServerSpec {
    const spec = serverIdSchema.safeParse(id).success ? this.#d.store.get(id) : undefined;
    if (!spec) throw new NotFoundError(`Triton server '${id}' is not registered`, { details: { server: id } });
    return spec;
  }

  /** Cached index of a server (from the last probe or call); empty before the first. */
  cachedIndex(id: string): TritonIndexEntry[] {
    return this.#tracker.get(id);
  }

  async register(input: RegisterInput): Promise<TritonServer> {
    const valid = validate(registerInputSchema, input);
    const now = new Date();
    const spec: TritonServerSpec = {
      id: valid.id ?? this.#d.store.nextId(),
      host: valid.host,
      httpPort: valid.httpPort,
      metricsPort: valid.metricsPort ?? null,
      gpus: valid.gpus ?? 0,
      repositoryPath: valid.repositoryPath ? await this.#confineRepository(valid.repositoryPath) : null,
      createdAt: now,
      updatedAt: now,
    };
    await this.#d.store.insert(spec);
    this.#d.logger.info('Triton server registered', { server: spec.id, host: spec.host, port: spec.httpPort });
    await this.probe(spec.id);
    return this.#view(spec);
  }

  async update(id: string, input: UpdateInput): Promise<TritonServer> {
    const current = this.require(id);
    const valid = validate(updateInputSchema, input);
    const next: TritonServerSpec = {
      ...current,
      host: valid.host ?? current.host,
      httpPort: valid.httpPort ?? current.httpPort,
      // Omitted keeps; null clears (GraphQL inputs cannot tell the two apart: `null` there clears too).
      metricsPort: valid.metricsPort === undefined ? current.metricsPort : valid.metricsPort,
      gpus: valid.gpus ?? current.gpus,
      repositoryPath: valid.repositoryPath === undefined ? current.repositoryPath : valid.repositoryPath === null ? null : await this.#confineRepository(valid.repositoryPath),
      updatedAt: new Date(),
    };
    await this.#d.store.update(next);
    if (next.host !== current.host || next.httpPort !== current.httpPort) {
      this.#tracker.forget(id);
    }
    await this.probe(id);
    return this.#view(next);
  }

  async remove(id: string): Promise<boolean> {
    if (!serverIdSchema.safeParse(id).success || !(await this.#d.store.delete(id))) return false;
    this.#tracker.forget(id);
    this.#health.delete(id);
    return true;
  }

  // ---- probes

  /** Probes one server (health, then its index when live); publishes what changed. */
  async probe(id: string): Promise<TritonServer> {
    const spec = this.require(id);
    const health = await probeHealth(this.#d.client, spec);
    this.#setHealth(spec, health);
    if (health.live) await this.index(id).catch((error) => this.#d.logger.debug('index refresh failed', { server: id, error: (error as Error).message }));
    else this.#tracker.markEndpoints(id, () => false);
    return this.#view(this.require(id));
  }

  /** Probes every server, concurrently and bounded. */
  async probeAll(): Promise<void> {
    await Promise.all(this.#d.store.list().map((s) => this.#limit(() => this.probe(s.id).catch(() => undefined))));
  }

  async metadata(id: string): Promise<TritonServerMetadata> {
    return this.#d.client.metadata(this.require(id));
  }

  /** Scrapes the metrics port; null when the server has none. */
  async metrics(id: string): Promise<TritonMetrics | null> {
    const spec = this.require(id);
    if (spec.metricsPort === null) return null;
    return tritonMetrics(await this.#d.client.metricsText(spec, spec.metricsPort));
  }

  // ---- models on one server

  /** The live repository index (never-loaded models as name-only entries unless `ready`). */
  async index(id: string, { ready = false }: { ready?: boolean } = {}): Promise<TritonIndexEntry[]> {
    const spec = this.require(id);
    const entries = await this.#d.client.index(spec, { ready });
    if (!ready) this.#tracker.set(spec, entries);
    return entries;
  }

  /** Index entries of one model; NOT_FOUND when the server's repository does not have it. */
  async versions(id: string, name: string): Promise<TritonIndexEntry[]> {
    validate(modelNameSchema, name, 'name');
    const entries = (await this.index(id)).filter((e) => e.name === name);
    if (entries.length === 0) throw new NotFoundError(`Model '${name}' is not in the repository of ${serverLabel(this.require(id))}`, { details: { server: id, model: name } });
    return entries;
  }

  modelMetadata(id: string, name: string, version?: string): Promise<unknown> {
    this.#checkModel(name, version);
    return this.#d.client.modelMetadata(this.require(id), name, version);
  }

  modelConfig(id: string, name: string, version?: string): Promise<unknown> {
    this.#checkModel(name, version);
    return this.#d.client.modelConfig(this.require(id), name, version);
  }

  stats(id: string, name: string, version?: string): Promise<TritonModelStats[]> {
    this.#checkModel(name, version);
    return this.#d.client.stats(this.require(id), name, version);
  }

  /** Loads (or reloads) a model, with optional config and file overrides; publishes LOADING, then the result. */
  async load(id: string, name: string, input: LoadInput = {}): Promise<TritonIndexEntry[]> {
    this.#checkModel(name);
    const spec = this.require(id);
    const { config, files } = validate(loadInputSchema, input);
    if (files?.length && config === undefined) throw new InputError('A load with file overrides needs a config (Triton requires one)');
    if (config !== undefined) {
      try {
        JSON.parse(config);
      } catch {
        throw new InputError('config must be a JSON model configuration');
      }
    }
    const parameters: Record<string, string> = {};
    if (config !== undefined) parameters.config = config;
    for (const f of files ?? []) parameters[`file:${f.path}`] = f.base64;
    this.#tracker.publish({ serverId: id, name, version: null, state: 'LOADING', reason: null, at: new Date() });
    try {
      await this.#d.client.load(spec, name, parameters, this.#d.config.loadTimeoutMs);
    } finally {
      // The index says how it ended (READY, or UNAVAILABLE with Triton's reason).
      await this.index(id).catch(() => undefined);
    }
    return this.cachedIndex(id).filter((e) => e.name === name);
  }

  async unload(id: string, name: string, { unloadDependents = false }: { unloadDependents?: boolean } = {}): Promise<TritonIndexEntry[]> {
    this.#checkModel(name);
    const spec = this.require(id);
    try {
      await this.#d.client.unload(spec, name, unloadDependents, this.#d.config.loadTimeoutMs);
    } finally {
      await this.index(id).catch(() => undefined);
    }
    return this.cachedIndex(id).filter((e) => e.name === name);
  }

  // ---- the fleet

  /** Every model on every server (live indexes, asked concurrently); unreachable servers in `errors`. */
  async fleet(): Promise<TritonFleet> {
    const servers = this.#d.store.list();
    const results = await Promise.all(
      servers.map((s) =>
        this.#limit(async () => {
          try {
            return { serverId: s.id, entries: await this.index(s.id) };
          } catch (error) {
            return { serverId: s.id, error: (error as Error).message };
          }
        }),
      ),
    );
    const byName = new Map<string, TritonFleetModel>();
    const errors: TritonFleet['errors'] = [];
    for (const r of results) {
      if ('error' in r) {
        errors.push({ serverId: r.serverId, message: r.error! });
        continue;
      }
      const grouped = new Map<string, TritonIndexEntry[]>();
      for (const e of r.entries) grouped.set(e.name, [...(grouped.get(e.name) ?? []), e]);
      for (const [name, versions] of grouped) {
        let model = byName.get(name);
        if (!model) byName.set(name, (model = { name, placements: [] }));
        model.placements.push({ serverId: r.serverId, versions, ready: versions.some((v) => v.state === 'READY') });
      }
    }
    return { models: [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)), errors };
  }

  /** One model across the fleet, or on one server; NOT_FOUND when no server (or that server) has it. */
  async fleetModel(name: string, serverId?: string): Promise<TritonFleetModel> {
    this.#checkModel(name);
    if (serverId !== undefined) return { name, placements: [{ serverId, versions: await this.versions(serverId, name), ready: this.cachedIndex(serverId).some((e) => e.name === name && e.state === 'READY') }] };
    const model = (await this.fleet()).models.find((m) => m.name === name);
    if (model) return model;
    if (await this.#d.store.model(name)) return { name, placements: [] };
    throw new NotFoundError(`Model '${name}' is not on any registered Triton server`, { details: { model: name } });
  }

  /** Loads a model on every server whose repository has it, concurrently; one outcome per server. */
  async loadEverywhere(name: string, input: LoadInput = {}): Promise<TritonServerOutcome[]> {
    this.#checkModel(name);
    const fleet = await this.fleet();
    const model = fleet.models.find((m) => m.name === name);
    if (!model) throw new NotFoundError(`No registered Triton server has model '${name}'`, { details: { model: name } });
    return Promise.all(
      model.placements.map(({ serverId }) =>
        this.#limit(async () => {
          try {
            await this.load(serverId, name, input);
            return { serverId, ok: true, error: null };
          } catch (error) {
            return { serverId, ok: false, error: (error as Error).message };
          }
        }),
      ),
    );
  }

  // ---- internals

  #checkModel(name: string, version?: string): void {
    checkModelArgs(name, version);
  }

  async #confineRepository(input: string): Promise<string> {
    if (this.#d.config.repositoryRoots.length === 0) throw new InputError('repositoryPath needs plugins.triton.repositoryRoots in the config', { details: { repositoryPath: input } });
    const real = await confinePath(input, this.#d.config.repositoryRoots, { what: 'repositoryPath', rootsLabel: 'repository roots' });
    if (!(await stat(real)).isDirectory()) throw new InputError(`repositoryPath is not a directory: ${input}`);
    const taken = this.#d.store.list().find((s) => s.repositoryPath === real);
    if (taken) this.#d.logger.info('repository shared by two servers', { repositoryPath: real, server: taken.id });
    return real;
  }

  #view(spec: TritonServerSpec): TritonServer {
    return { ...spec, health: this.#health.get(spec.id) ?? unknownHealth };
  }

  #setHealth(spec: TritonServerSpec, health: TritonHealth): void {
    const previous = this.#health.get(spec.id) ?? unknownHealth;
    this.#health.set(spec.id, health);
    if (healthChanged(previous, health)) {
      this.#d.logger.info('Triton server health changed', { server: spec.id, state: health.state, error: health.lastError });
      this.#d.pubsub.publish(serversTopic, this.#view(spec));
    }
  }


}

