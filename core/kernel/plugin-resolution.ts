import { registerHooks, type ResolveFnOutput, type ResolveHookContext } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * How third-party plugin modules are found, as a Node resolve hook installed before the first
 * one loads:
 *
 * - a plugin given by npm package name resolves from the config file's directory (where the
 *   operator ran `npm install`), falling back to backplane's own `node_modules`;
 * - `@backplane/plugin-api` that a plugin cannot resolve itself (an in-tree example, a plugin
 *   folder without its own install) is backplane's own copy of the contract, from source.
 *   A plugin that installed the package gets its own copy; errors are recognised by brand, so
 *   both work the same.
 */
const fromScheme = 'backplane-plugin-from:';
const contractName = '@backplane/plugin-api';
const contractSource = new URL('../../packages/plugin-api/src/', import.meta.url);
/** The package's `exports`, mapped to its source files. */
const contractEntries: Record<string, string> = { '': 'index.ts', '/entities': 'entities.ts', '/testing': 'testing/index.ts' };

let installed = false;

/**
 * The URL of the npm package `name` as resolved from `baseDir` (with ESM rules: `exports`,
 * `import` conditions), else from backplane's own dependencies. Throws `ERR_MODULE_NOT_FOUND`
 * naming `baseDir` when neither has it.
 */
export function resolvePluginPackage(name: string, baseDir: string): string {
  installPluginResolution();
  const parent = pathToFileURL(path.join(path.resolve(baseDir), 'backplane.config')).href;
  // Synchronous, and through the hook below (in vitest too, where `import()` is Vite's).
  return import.meta.resolve(`${fromScheme}${encodeURIComponent(parent)}:${name}`);
}

/** Installs the resolve hook, once per process. */
export function installPluginResolution(): void {
  if (installed) return;
  installed = true;
  registerHooks({ resolve });
}

function resolve(specifier: string, context: ResolveHookContext, next: (specifier: string, context?: Partial<ResolveHookContext>) => ResolveFnOutput): ResolveFnOutput {
  if (specifier.startsWith(fromScheme)) {
    const rest = specifier.slice(fromScheme.length);
    const split = rest.indexOf(':');
    const parentURL = decodeURIComponent(rest.slice(0, split));
    const name = rest.slice(split + 1);
    try {
      return next(name, { ...context, parentURL });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        return next(name, context);
      } catch {
        // Report where the operator installs plugins, not backplane's own folder.
        throw error;
      }
    }
  }
  if (specifier === contractName || specifier.startsWith(`${contractName}/`)) {
    try {
      return next(specifier, context);
    } catch (error) {
      const entry = contractEntries[specifier.slice(contractName.length)];
      if (!isNotFound(error) || entry === undefined) throw error;
      return { url: new URL(entry, contractSource).href, shortCircuit: true };
    }
  }
  return next(specifier, context);
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: string } | undefined)?.code === 'ERR_MODULE_NOT_FOUND';
}
