import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CliModule } from '../packages/plugin-api/src/cli.ts';
import { builtinCliModules } from './builtin-cli-modules.ts';
import { CliError } from './cli-error.ts';
import type { LoadedCliModule } from './commands/status-command.ts';

/**
 * The command modules to register: the built-in plugins' (from {@link builtinCliModules}) and
 * those of third-party plugins named in the config file (`--config` / `BACKPLANE_CONFIG`) as
 * `plugins.<id>.module`, whose manifest's `cli` field names theirs. A built-in disabled there
 * (`enabled: false`) is left out. A third-party manifest is imported (the module the daemon
 * would load), but not initialised; only its `cli` module adds commands.
 */
export async function loadPluginCliModules(configFile: string | undefined): Promise<LoadedCliModule[]> {
  const sections = configFile ? await readPluginSections(configFile) : {};
  const baseDir = configFile ? path.dirname(path.resolve(configFile)) : process.cwd();
  const entries: { pluginId: string; url: Promise<string> }[] = [];
  for (const [id, url] of builtinCliModules) {
    const section = sections[id];
    if (section?.enabled === false || section?.module !== undefined) continue;
    entries.push({ pluginId: id, url: Promise.resolve(url.href) });
  }
  for (const [id, section] of Object.entries(sections)) {
    if (section.enabled === false || typeof section.module !== 'string') continue;
    entries.push({ pluginId: id, url: thirdPartyCliModule(id, section.module, baseDir) });
  }
  const loaded = await Promise.all(
    entries.map(async ({ pluginId, url }) => {
      const href = await url;
      if (href === '') return undefined;
      let mod: Partial<CliModule>;
      try {
        mod = (await import(href)) as Partial<CliModule>;
      } catch (error) {
        throw new CliError(`plugins.${pluginId}: cannot load its commands (${href}): ${(error as Error).message.split('\n')[0]}`);
      }
      if (typeof mod.register !== 'function') throw new CliError(`plugins.${pluginId}: its cli module ${href} exports no register(program, context)`);
      return { pluginId, module: mod as CliModule };
    }),
  );
  return loaded.filter((m): m is LoadedCliModule => m !== undefined);
}

async function readPluginSections(file: string): Promise<Record<string, { enabled?: unknown; module?: unknown }>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`--config: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const { default: YAML } = await import('yaml');
  const doc = YAML.parse(text) as { plugins?: Record<string, { enabled?: unknown; module?: unknown }> } | null;
  return doc?.plugins ?? {};
}

/** The `cli` module a third-party manifest names, as a URL ('' when it names none). */
async function thirdPartyCliModule(id: string, specifier: string, baseDir: string): Promise<string> {
  // The daemon's own resolution rules (paths from the config's folder, packages from there, then ours).
  const { installPluginResolution, resolvePluginPackage } = await import('../core/kernel/plugin-resolution.ts');
  installPluginResolution();
  const isPath = specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:');
  let manifestUrl: string;
  let manifest: { id?: unknown; cli?: unknown };
  try {
    manifestUrl = isPath ? (specifier.startsWith('file:') ? specifier : pathToFileURL(path.resolve(baseDir, specifier)).href) : resolvePluginPackage(specifier, baseDir);
    const mod = (await import(manifestUrl)) as { default?: typeof manifest; plugin?: typeof manifest };
    manifest = mod.default ?? mod.plugin ?? {};
  } catch (error) {
    throw new CliError(`plugins.${id}.module: cannot load '${specifier}': ${(error as Error).message.split('\n')[0]}`);
  }
  const cli = manifest.cli;
  if (cli === undefined) return '';
  if (cli instanceof URL) return cli.href;
  if (typeof cli !== 'string') throw new CliError(`plugins.${id}: the manifest's cli field must be a string or a URL`);
  // Relative to the manifest module; a bare name resolves like the plugin's own package.
  if (cli.startsWith('.') || cli.startsWith('/') || cli.startsWith('file:')) return new URL(cli, manifestUrl).href;
  return resolvePluginPackage(cli, baseDir);
}
