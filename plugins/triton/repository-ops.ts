import { InputError, NotFoundError, UnavailableError, KeyedMutex, type Logger, type UploadedFile, type UploadService } from '../../core/plugin-api.ts';
import type { TritonConfig } from './config.ts';
import { ModelRepository } from './repository.ts';
import type { ServerStore } from './server-store.ts';
import type { TritonService } from './service.ts';
import { serverLabel } from './triton-client.ts';
import type { TritonIndexEntry } from './types.ts';
import { checkModelArgs, modelNameSchema, validate } from './validation.ts';

/**
 * Writes servers' local model repositories: uploads, new versions, version and model deletes.
 * Writes to one model folder run one at a time (two uploads of one name cannot interleave).
 */
export class RepositoryOps {
  readonly #service: TritonService;
  readonly #d: { config: TritonConfig; logger: Logger; store: ServerStore; uploads: UploadService | undefined };
  readonly #mutex = new KeyedMutex();

  constructor(service: TritonService, deps: { config: TritonConfig; logger: Logger; store: ServerStore; uploads: UploadService | undefined }) {
    this.#service = service;
    this.#d = deps;
  }

  /** A new model in a server's local repository from a staged upload. */
  async uploadModel(serverId: string | undefined, name: string, uploadId: string, { description }: { description?: string | null } = {}): Promise<{ serverId: string; entries: TritonIndexEntry[] }> {
    validate(modelNameSchema, name, 'name');
    const id = this.#uploadTarget(serverId);
    const repository = this.#repository(id);
    await this.#mutex.run(`${repository.root}\0${name}`, () => this.#withUpload(uploadId, (files) => repository.createModel(name, files)));
    await this.#d.store.putModel(name, { serverId: id, ...(description !== undefined ? { description } : {}) });
    return { serverId: id, entries: (await this.#service.index(id).catch(() => this.#service.cachedIndex(id))).filter((e) => e.name === name) };
  }

  /** A new version of a model in a server's local repository; returns its number. */
  async createVersion(serverId: string | undefined, name: string, uploadId: string): Promise<string> {
    validate(modelNameSchema, name, 'name');
    const [id] = serverId === undefined ? await this.#holders(name) : [serverId];
    const repository = this.#repository(id!);
    const version = await this.#mutex.run(`${repository.root}\0${name}`, () => this.#withUpload(uploadId, (files) => repository.createVersion(name, files)));
    await this.#d.store.putModel(name, {});
    await this.#service.index(id!).catch(() => undefined);
    return version;
  }

  /** Removes a version folder (from every local repository holding the model when no server is named), then reloads the model where it is loaded so Triton drops the version. */
  async deleteVersion(serverId: string | undefined, name: string, version: string): Promise<void> {
    checkModelArgs(name, version);
    for (const id of serverId === undefined ? await this.#holders(name) : [serverId]) {
      const repository = this.#repository(id);
      await this.#mutex.run(`${repository.root}\0${name}`, () => repository.deleteVersion(name, version));
      const loaded = (await this.#service.index(id).catch(() => [])).some((e) => e.name === name && e.state === 'READY');
      if (loaded) await this.#service.load(id, name).catch((error) => this.#d.logger.warn('reload after version delete failed', { server: id, model: name, error: (error as Error).message }));
    }
  }

  /** Unloads the model (when the server answers) and removes its folder from the repository. */
  async deleteModel(serverId: string | undefined, name: string): Promise<void> {
    checkModelArgs(name);
    for (const id of serverId === undefined ? await this.#holders(name) : [serverId]) {
      const repository = this.#repository(id);
      if (!(await repository.hasModel(name))) throw new NotFoundError(`Model '${name}' is not in the repository of ${serverLabel(this.#service.require(id))}`, { details: { server: id, model: name } });
      await this.#service.unload(id, name).catch((error) => this.#d.logger.warn('unload before delete failed', { server: id, model: name, error: (error as Error).message }));
      await this.#mutex.run(`${repository.root}\0${name}`, () => repository.deleteModel(name));
      // Other servers on the same repository folder see it go too.
      for (const s of this.#d.store.list()) if (s.repositoryPath === repository.root) await this.#service.index(s.id).catch(() => undefined);
    }
    const stillSomewhere = this.#d.store.list().some((s) => this.#service.cachedIndex(s.id).some((e) => e.name === name));
    if (!stillSomewhere) await this.#d.store.deleteModel(name);
  }

  // ---- internals

  /** The server an upload goes to: the one named, or the only one with a local repository. */
  #uploadTarget(serverId: string | undefined): string {
    if (serverId !== undefined) return this.#service.require(serverId).id;
    const local = this.#d.store.list().filter((s) => s.repositoryPath);
    if (local.length === 1) return local[0]!.id;
    if (local.length === 0) throw new InputError('No registered Triton server has a local repositoryPath to upload into');
    throw new InputError(`Name the server (triton_id): several have a local repository (${local.map((s) => s.id).join(', ')})`);
  }

  /** Servers whose local repository holds the model, one per repository folder; NOT_FOUND when none. */
  async #holders(name: string): Promise<string[]> {
    const seen = new Set<string>();
    const holders: string[] = [];
    for (const s of this.#d.store.list()) {
      if (!s.repositoryPath || seen.has(s.repositoryPath)) continue;
      const repository = this.#repository(s.id);
      if (!(await repository.hasModel(name))) continue;
      seen.add(s.repositoryPath);
      holders.push(s.id);
    }
    if (holders.length === 0) throw new NotFoundError(`Model '${name}' is in no local repository of a registered Triton server`, { details: { model: name } });
    return holders;
  }

  #repository(id: string): ModelRepository {
    const spec = this.#service.require(id);
    if (!spec.repositoryPath) throw new InputError(`${serverLabel(spec)} has no local repositoryPath: backplane cannot write its models`, { details: { server: id } });
    return new ModelRepository({ root: spec.repositoryPath, platforms: this.#d.config.platforms, maxBytes: this.#d.config.maxUploadBytes });
  }

  async #withUpload<T>(uploadId: string, use: (files: UploadedFile[]) => Promise<T>): Promise<T> {
    if (!this.#d.uploads) throw new UnavailableError('Staged uploads are not available in this daemon');
    const upload = this.#d.uploads.claim(uploadId);
    try {
      return await use(upload.files);
    } finally {
      await this.#d.uploads.discard(upload);
    }
  }
}
