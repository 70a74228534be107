import { randomUUID } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, InputError, moveFile, NotFoundError } from '../../core/plugin-api.ts';
import { checkConfig, placeFiles, readConfigFacts, versionPattern, type PlacedFile } from './model-files.ts';
import type { UploadedFile } from '../../core/plugin-api.ts';

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Writes a server's local model repository. New content is assembled in a staging folder beside
 * the repository (not inside it: Triton indexes every sub-directory), then renamed into place,
 * so Triton never sees a half-written model and a failure leaves nothing behind.
 */
export class ModelRepository {
  readonly root: string;
  readonly #platforms: readonly string[];
  readonly #maxBytes: number;

  constructor({ root, platforms, maxBytes }: { root: string; platforms: readonly string[]; maxBytes: number }) {
    this.root = root;
    this.#platforms = platforms;
    this.#maxBytes = maxBytes;
  }

  /** The model's folder; refuses a folder that is a symlink (it could point anywhere). */
  async #modelDir(model: string, { mustExist }: { mustExist: boolean }): Promise<string> {
    const dir = path.join(this.root, model);
    const stat = await lstat(dir).catch(() => undefined);
    if (stat?.isSymbolicLink()) throw new InputError(`Model folder '${model}' in ${this.root} is a symlink; backplane does not write through symlinks`);
    if (mustExist && !stat?.isDirectory()) throw new NotFoundError(`Model '${model}' is not in the repository ${this.root}`);
    return dir;
  }

  /** Version folders of a model, numerically. */
  async versions(model: string): Promise<string[]> {
    const dir = await this.#modelDir(model, { mustExist: true });
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && versionPattern.test(e.name)).map((e) => e.name).sort((a, b) => Number(a) - Number(b));
  }

  async hasModel(model: string): Promise<boolean> {
    return exists(path.join(this.root, model));
  }

  /** A new model from uploaded files. CONFLICT when the folder exists. */
  async createModel(model: string, files: readonly UploadedFile[]): Promise<string[]> {
    const dir = await this.#modelDir(model, { mustExist: false });
    if (await exists(dir)) throw new ConflictError(`Model '${model}' already exists in the repository ${this.root}`);
    const placed = placeFiles(files, { model, maxBytes: this.#maxBytes, kind: 'model' });
    const config = placed.find((p) => p.target === 'config.pbtxt')!;
    checkConfig(readConfigFacts(await readFile(config.source.path, 'utf8')), model, this.#platforms);
    await this.#assemble(placed, async (staging) => {
      // rename(2) onto an existing empty folder would succeed: check again right before.
      if (await exists(dir)) throw new ConflictError(`Model '${model}' already exists in the repository ${this.root}`);
      await rename(staging, dir);
    });
    return this.versions(model);
  }

  /** A new version (the next number unless the files name one); may replace config.pbtxt. */
  async createVersion(model: string, files: readonly UploadedFile[]): Promise<string> {
    const dir = await this.#modelDir(model, { mustExist: true });
    const existing = await this.versions(model);
    const nextVersion = String(existing.length ? Number(existing.at(-1)) + 1 : 1);
    const placed = placeFiles(files, { model, maxBytes: this.#maxBytes, kind: 'version', nextVersion });
    const version = placed.find((p) => p.target.includes('/') && versionPattern.test(p.target.split('/')[0]!))!.target.split('/')[0]!;
    if (existing.includes(version)) throw new ConflictError(`Model '${model}' already has version ${version}`);
    const config = placed.find((p) => p.target === 'config.pbtxt');
    if (config) checkConfig(readConfigFacts(await readFile(config.source.path, 'utf8')), model, this.#platforms);
    await this.#assemble(placed, async (staging) => {
      if (await exists(path.join(dir, version))) throw new ConflictError(`Model '${model}' already has version ${version}`);
      await rename(path.join(staging, version), path.join(dir, version));
      // Replacing a file by rename is atomic: Triton reads the old or the new config.
      if (config) await rename(path.join(staging, 'config.pbtxt'), path.join(dir, 'config.pbtxt'));
    });
    return version;
  }

  async deleteVersion(model: string, version: string): Promise<void> {
    if (!versionPattern.test(version)) throw new InputError(`Version must be a number such as 1: ${JSON.stringify(version)}`);
    const dir = await this.#modelDir(model, { mustExist: true });
    if (!(await this.versions(model)).includes(version)) throw new NotFoundError(`Model '${model}' has no version ${version} in ${this.root}`);
    await this.#removeAtomically(path.join(dir, version));
  }

  async deleteModel(model: string): Promise<void> {
    const dir = await this.#modelDir(model, { mustExist: true });
    await this.#removeAtomically(dir);
  }

  /** Moves the files into a fresh staging folder, runs `commit`, and removes the staging folder whatever happens. */
  async #assemble(placed: readonly PlacedFile[], commit: (staging: string) => Promise<void>): Promise<void> {
    const staging = this.#stagingDir();
    try {
      for (const { source, target } of placed) {
        const stat = await lstat(source.path);
        if (!stat.isFile()) throw new InputError(`Upload is not a regular file: ${JSON.stringify(source.filename)}`);
        const to = path.join(staging, ...target.split('/'));
        await mkdir(path.dirname(to), { recursive: true });
        await moveFile(source.path, to);
      }
      await commit(staging);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Renames out of the repository first, so Triton never indexes a half-deleted folder. */
  async #removeAtomically(target: string): Promise<void> {
    const staging = this.#stagingDir();
    await mkdir(staging, { recursive: true });
    try {
      await rename(target, path.join(staging, 'removed'));
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Beside the repository, on the same filesystem (so renames into it are atomic). */
  #stagingDir(): string {
    return path.join(path.dirname(this.root), `.${path.basename(this.root)}.backplane-staging-${randomUUID()}`);
  }
}
