import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../config/config-error.ts';
import { formatIssues } from '../config/format-issues.ts';
import type { BackplaneConfig } from '../config/schema.ts';
import { describeError, KernelError } from '../errors.ts';
import type { PluginDefinition } from '../plugin-api.ts';
import { validateManifest } from './plugin-order.ts';
import { installPluginResolution, resolvePluginPackage } from './plugin-resolution.ts';

/** An enabled plugin with its validated config section. */
export interface EnabledPlugin {
  definition: PluginDefinition;
  config: unknown;
  /** `builtin` or the module specifier it was loaded from. */
  origin: string;
}

export interface ResolvePluginsOptions {
  config: BackplaneConfig;
  /** Plugins that ship with backplane; enabled unless `plugins.<id>.enabled: false`. */
  builtins: readonly PluginDefinition[];
  /**
   * Relative `module` paths resolve against this directory (the config file's, else cwd), and
   * npm package names from it (then from backplane's own dependencies).
   */
  baseDir: string;
}

/**
 * Decides which plugins run, loads third-party ones (`plugins.<id>.module`: a path or an npm
 * package name) and validates each plugin's config section. All config problems are reported
 * together as one {@link ConfigError}.
 */
export async function resolvePlugins({ config, builtins, baseDir }: ResolvePluginsOptions): Promise<EnabledPlugin[]> {
  const problems: string[] = [];
  const enabled: EnabledPlugin[] = [];
  const builtinById = new Map(builtins.map((def) => [def.id, def]));

  for (const def of builtins) {
    const section = config.plugins[def.id] ?? {};
    if (section.enabled === false || section.module !== undefined) continue;
    enabled.push({ definition: def, config: section, origin: 'builtin' });
  }
  for (const [id, section] of Object.entries(config.plugins)) {
    // A disabled section is fine even for a plugin this build does not know (shared configs).
    if (section.enabled === false) continue;
    if (section.module === undefined) {
      if (!builtinById.has(id)) problems.push(`plugins.${id}: unknown plugin (set plugins.${id}.module to load a third-party plugin)`);
      continue;
    }
    try {
      const definition = await importPlugin(section.module, baseDir);
      if (definition.id !== id) problems.push(`plugins.${id}.module: the module defines plugin '${definition.id}', not '${id}'`);
      else enabled.push({ definition, config: section, origin: section.module });
    } catch (error) {
      problems.push(`plugins.${id}.module: ${describeError(error)}`);
    }
  }

  for (const plugin of enabled) {
    const { enabled: _enabled, module: _module, ...rest } = plugin.config as Record<string, unknown>;
    const schema = plugin.definition.configSchema;
    if (!schema) {
      const keys = Object.keys(rest);
      if (keys.length > 0) problems.push(...keys.map((k) => `plugins.${plugin.definition.id}.${k}: unknown key`));
      plugin.config = {};
      continue;
    }
    const parsed = schema.safeParse(rest);
    if (parsed.success) plugin.config = parsed.data;
    else problems.push(...formatIssues(parsed.error.issues, ['plugins', plugin.definition.id]));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return enabled;
}

async function importPlugin(specifier: string, baseDir: string): Promise<PluginDefinition> {
  const isPath = specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:');
  // For paths too: a plugin folder without its own @backplane/plugin-api gets backplane's copy.
  installPluginResolution();
  let mod: Record<string, unknown>;
  try {
    const target = isPath ? (specifier.startsWith('file:') ? specifier : pathToFileURL(path.resolve(baseDir, specifier)).href) : resolvePluginPackage(specifier, baseDir);
    mod = (await import(target)) as Record<string, unknown>;
  } catch (error) {
    throw new KernelError('BP_ERR_PLUGIN_LOAD', `cannot load '${specifier}': ${describeError(error).split('\n')[0]}`, { cause: error });
  }
  const candidate = mod.default ?? mod.plugin;
  validateManifest(candidate, `module '${specifier}'`);
  return candidate;
}
