import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError } from './config-error.ts';
import { formatIssues } from './format-issues.ts';
import { configSchema, type BackplaneConfig } from './schema.ts';

/** Values given on the command line; they win over everything else. */
export interface ConfigFlags {
  config?: string;
  host?: string;
  port?: string;
  dataDir?: string;
  logLevel?: string;
}

export interface LoadConfigOptions {
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface LoadedConfig {
  config: BackplaneConfig;
  /** The config file that was read, if any. */
  file?: string;
}

const envAliases: Record<string, string[]> = {
  BACKPLANE_HOST: ['server', 'host'],
  BACKPLANE_PORT: ['server', 'port'],
  BACKPLANE_DATA_DIR: ['dataDir'],
  BACKPLANE_LOG_LEVEL: ['log', 'level'],
  BACKPLANE_DATABASE_URL: ['database', 'url'],
};

/**
 * Builds the effective configuration. Precedence: flags > env > file > defaults.
 * Throws {@link ConfigError} naming every bad path.
 */
export async function loadConfig({ flags = {}, env = process.env, cwd = process.cwd() }: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const fileName = flags.config ?? env.BACKPLANE_CONFIG;
  const file = fileName === undefined || fileName === '' ? undefined : path.resolve(cwd, fileName);
  const raw: Record<string, unknown> = file ? await readConfigFile(file) : {};

  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.startsWith('BACKPLANE_') || name === 'BACKPLANE_CONFIG') continue;
    const keyPath = envAliases[name] ?? envPath(name);
    if (keyPath) setPath(raw, keyPath, parseScalar(value));
  }

  if (flags.host !== undefined) setPath(raw, ['server', 'host'], flags.host);
  if (flags.port !== undefined) setPath(raw, ['server', 'port'], parseScalar(flags.port));
  if (flags.dataDir !== undefined) setPath(raw, ['dataDir'], flags.dataDir);
  if (flags.logLevel !== undefined) setPath(raw, ['log', 'level'], flags.logLevel);

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error.issues), file);
  const config = parsed.data;
  config.dataDir = path.resolve(cwd, config.dataDir);
  return { config, file };
}

async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text, { prettyErrors: true });
  } catch (error) {
    throw new ConfigError([`${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`]);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(['(root): expected a mapping at the top of the file'], file);
  return doc as Record<string, unknown>;
}

/**
 * `BACKPLANE_JOBS__MAX_CONCURRENT` → `jobs.maxConcurrent`; the segment after `PLUGINS` is a
 * plugin id and stays kebab-case: `BACKPLANE_PLUGINS__NVIDIA_SMI__INTERVAL_MS`.
 */
function envPath(name: string): string[] | undefined {
  const rest = name.slice('BACKPLANE_'.length);
  if (!rest.includes('__')) return undefined;
  const segments = rest.split('__').filter((s) => s !== '');
  return segments.map((segment, i) =>
    i > 0 && segments[i - 1] === 'PLUGINS' ? segment.toLowerCase().replaceAll('_', '-') : camelCase(segment),
  );
}

function camelCase(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Env and flag values are text; read them the way YAML would (numbers, booleans, lists). */
function parseScalar(value: string): unknown {
  try {
    return YAML.parse(value);
  } catch {
    return value;
  }
}

function setPath(target: Record<string, unknown>, keyPath: string[], value: unknown): void {
  let node = target;
  for (const key of keyPath.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keyPath[keyPath.length - 1]] = value;
}
