import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, z, type Logger } from '../../core/plugin-api.ts';
import { groupBudgetSchema, type LlamaCppConfig } from './config.ts';

const positiveInt = z.number().int('expected a positive integer').positive('expected a positive integer');

/**
 * What `PUT /api/config` (`updateLlamaCppConfig`) may change while the daemon runs: probing,
 * timeouts, the restart policy, the idle check, group budgets and instance defaults. `null`
 * puts a key back to the config file's value; `restart` and `defaults` merge key by key,
 * `groups` is replaced whole.
 */
const runtimePatchSchema = z.strictObject({
  healthIntervalMs: positiveInt.nullish(),
  healthTimeoutMs: positiveInt.nullish(),
  unhealthyThreshold: positiveInt.nullish(),
  startTimeoutMs: positiveInt.nullish(),
  stopTimeoutSeconds: z.number().int().min(0).max(600).nullish(),
  idleCheckIntervalMs: positiveInt.nullish(),
  onDemandStartTimeoutMs: positiveInt.nullish(),
  restart: z
    .strictObject({ initialDelayMs: positiveInt, maxDelayMs: positiveInt, maxRestarts: z.number().int().min(0).max(1000), resetAfterMs: positiveInt })
    .partial()
    .nullish(),
  groups: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,50}$/, 'expected a group name of letters, digits, "_" or "-"'), groupBudgetSchema).nullish(),
  defaults: z
    .strictObject({ threads: positiveInt, ctxSize: z.number().int().min(0), gpuLayers: z.number().int().min(-1), parallel: positiveInt })
    .partial()
    .nullish(),
});

type RuntimePatch = z.output<typeof runtimePatchSchema>;
/** The overrides kept on disk: what the patches left, without nulls. */
type Overrides = { -readonly [K in keyof RuntimePatch]?: NonNullable<RuntimePatch[K]> };

/** Settings that only a config file edit and a restart change (they shape ports, paths, the binary). */
const readOnlyKeys = new Set(['llamaServerPath', 'host', 'modelRoots', 'portRange']);

/** The file under the plugin's data dir that keeps the overrides across restarts. */
export const runtimeSettingsFile = 'runtime-config.json';

/**
 * The plugin's effective configuration: the config file's values with the overrides set at run
 * time on top. Overrides are validated, written to `<dataDir>/runtime-config.json` (0600) before
 * they apply, and loaded again at the next start. The `config` object is updated in place, so
 * every part of the plugin reads the new values on its next use.
 */
export class RuntimeSettings {
  readonly #config: LlamaCppConfig;
  readonly #base: LlamaCppConfig;
  readonly #file: string;
  readonly #logger: Logger;
  #overrides: Overrides = {};
  #queue: Promise<unknown> = Promise.resolve();

  constructor(config: LlamaCppConfig, dataDir: string, logger: Logger) {
    this.#config = config;
    this.#base = structuredClone(config);
    this.#file = path.join(dataDir, runtimeSettingsFile);
    this.#logger = logger;
  }

  /** Applies the overrides a previous run kept; a file that no longer validates is ignored (and said so). */
  async load(): Promise<void> {
    const text = await readFile(this.#file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (text === undefined) return;
    try {
      const patch = runtimePatchSchema.parse(JSON.parse(text));
      this.#overrides = merge({}, patch);
      this.#apply();
    } catch (error) {
      this.#logger.warn(`ignoring ${this.#file}: it is not a valid set of run-time settings`, { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /**
   * Validates and applies a change; resolves with the keys whose effective value changed.
   * `BAD_USER_INPUT` for a read-only or unknown key, or a bad value (nothing changes then).
   */
  update(input: unknown): Promise<string[]> {
    const run = this.#queue.then(() => this.#update(input));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #update(input: unknown): Promise<string[]> {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InputError('The configuration update must be a JSON object');
    for (const key of Object.keys(input)) {
      if (readOnlyKeys.has(key)) {
        throw new InputError(`'${key}' cannot be changed at run time: edit plugins.llama-cpp.${key} in the config file and restart the daemon`, { details: { key, readOnly: true } });
      }
    }
    const parsed = runtimePatchSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const key = issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path.join('.');
      const message = issue.code === 'unrecognized_keys' ? `'${key}' is not a setting of the llama-cpp plugin` : `${key}: ${issue.message}`;
      throw new InputError(`Invalid configuration update: ${message}`, { details: { key } });
    }
    const before = JSON.stringify(this.#config);
    const previous = structuredClone(this.#config);
    const overrides = merge(structuredClone(this.#overrides), parsed.data);
    await this.#write(overrides);
    this.#overrides = overrides;
    this.#apply();
    if (JSON.stringify(this.#config) === before) return [];
    return Object.keys(this.#config).filter((key) => JSON.stringify(this.#config[key as keyof LlamaCppConfig]) !== JSON.stringify(previous[key as keyof LlamaCppConfig]));
  }

  /** Written whole to a temporary file and renamed: a crash never leaves half a file. */
  async #write(overrides: Overrides): Promise<void> {
    const temporary = `${this.#file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(overrides, null, 2)}\n`, { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, this.#file);
  }

  #apply(): void {
    const base = structuredClone(this.#base);
    const o = this.#overrides;
    const next: LlamaCppConfig = {
      ...base,
      ...withoutNested(o),
      restart: { ...base.restart, ...o.restart },
      defaults: { ...base.defaults, ...o.defaults },
      groups: o.groups ?? base.groups,
    };
    Object.assign(this.#config, next);
  }
}

/** The overrides after a patch: `null` removes a key, `restart` and `defaults` merge. */
function merge(overrides: Overrides, patch: RuntimePatch): Overrides {
  const out: Record<string, unknown> = { ...overrides };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null) delete out[key];
    else if (key === 'restart' || key === 'defaults') out[key] = { ...(out[key] as object | undefined), ...(value as object) };
    else out[key] = value;
  }
  return out as Overrides;
}

function withoutNested(o: Overrides): Partial<LlamaCppConfig> {
  const { restart: _r, defaults: _d, groups: _g, ...flat } = o;
  return flat;
}
