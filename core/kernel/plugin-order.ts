import { KernelError } from '../errors.ts';
import { CONTRACT_VERSION, type PluginDefinition } from '../plugin-api.ts';
import { satisfiesRange } from './semver-range.ts';

const idPattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Checks a manifest before anything runs; every problem is a coded {@link KernelError}. */
export function validateManifest(definition: unknown, origin: string): asserts definition is PluginDefinition {
  if (typeof definition !== 'object' || definition === null) {
    throw new KernelError('BP_ERR_PLUGIN_INVALID', `${origin}: expected a plugin definition object (use definePlugin)`);
  }
  const def = definition as Partial<PluginDefinition>;
  if (typeof def.id !== 'string' || !idPattern.test(def.id)) {
    throw new KernelError('BP_ERR_PLUGIN_INVALID', `${origin}: id must be kebab-case, got ${JSON.stringify(def.id)}`);
  }
  if (typeof def.version !== 'string' || !/^\d+\.\d+\.\d+/.test(def.version)) {
    throw new KernelError('BP_ERR_PLUGIN_INVALID', `plugin '${def.id}': version must be semver, got ${JSON.stringify(def.version)}`);
  }
  for (const hook of ['init', 'schema', 'rest'] as const) {
    if (def[hook] !== undefined && typeof def[hook] !== 'function') {
      throw new KernelError('BP_ERR_PLUGIN_INVALID', `plugin '${def.id}': ${hook} must be a function`);
    }
  }
  for (const list of ['dependsOn', 'optionalDependsOn'] as const) {
    const deps = def[list];
    if (deps !== undefined && (!Array.isArray(deps) || deps.some((d) => typeof d !== 'string'))) {
      throw new KernelError('BP_ERR_PLUGIN_INVALID', `plugin '${def.id}': ${list} must be a list of plugin ids`);
    }
  }
  const range = def.contract ?? '^1';
  if (!satisfiesRange(CONTRACT_VERSION, range)) {
    throw new KernelError('BP_ERR_PLUGIN_CONTRACT', `plugin '${def.id}' needs contract ${range}; this backplane implements ${CONTRACT_VERSION}`);
  }
}

/**
 * Orders plugins so each comes after its dependencies (stable: ties keep the given order).
 * Fails on duplicate ids, missing hard dependencies and cycles, naming the plugins involved.
 */
export function orderPlugins(definitions: readonly PluginDefinition[]): PluginDefinition[] {
  const byId = new Map<string, PluginDefinition>();
  for (const def of definitions) {
    if (byId.has(def.id)) throw new KernelError('BP_ERR_PLUGIN_DUPLICATE', `plugin id '${def.id}' is defined twice`);
    byId.set(def.id, def);
  }
  const missing: string[] = [];
  for (const def of definitions) {
    for (const dep of def.dependsOn ?? []) if (!byId.has(dep)) missing.push(`'${def.id}' needs '${dep}'`);
  }
  if (missing.length > 0) {
    throw new KernelError('BP_ERR_PLUGIN_DEPENDENCY_MISSING', `${missing.join(', ')} (enable it under plugins.<id> in the config)`);
  }

  const ordered: PluginDefinition[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (def: PluginDefinition, trail: string[]) => {
    const seen = state.get(def.id);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(def.id)), def.id];
      throw new KernelError('BP_ERR_PLUGIN_DEPENDENCY_CYCLE', cycle.join(' -> '));
    }
    state.set(def.id, 'visiting');
    const deps = [...(def.dependsOn ?? []), ...(def.optionalDependsOn ?? []).filter((d) => byId.has(d))];
    for (const dep of deps) visit(byId.get(dep)!, [...trail, def.id]);
    state.set(def.id, 'done');
    ordered.push(def);
  };
  for (const def of definitions) visit(def, []);
  return ordered;
}
