import { Kind, parse, validate, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RestProfileConfig } from '../config/schema.ts';
import { KernelError } from '../errors.ts';
import { requiredScope } from '../graphql/required-scope.ts';
import type { RestProfile } from './profiles.ts';
import { resolveRateLimits, type ProfileRateLimits, type RateLimitBucket } from './rate-limit.ts';
import type { RestRoute } from './route.ts';

/** A route ready to match and run. */
export interface CompiledRoute {
  route: RestRoute;
  /** The plugin that declared it. */
  owner: string;
  profile: RestProfile;
  /** The full path template including the mount prefix, e.g. `/jobs/{job_id}/logs`. */
  template: string;
  pattern: RegExp;
  paramNames: string[];
  /** The `{name*}` parameter, kept as sent (not percent-decoded) so it can go upstream as is. */
  tailParam: string | undefined;
  document: DocumentNode;
  /** The operation is made of public fields (`login`): callers without a key may run it. */
  public: boolean;
  /** The `stream` subscription's document, when the route streams (see RestRoute.stream). */
  streamDocument: DocumentNode | undefined;
  /** The bucket this route's requests take from, when its profile limits rates. */
  rateLimit: { class: 'default' | 'heavy'; bucket: RateLimitBucket } | undefined;
}

/** A set of profiles served on one address. */
export interface RestListenerPlan {
  /** `main` for the daemon's own listener, else `host:port`. */
  id: string;
  listen: { host: string; port: number } | undefined;
  mounts: { profile: RestProfile; prefix: string; routes: CompiledRoute[]; rateLimits: ProfileRateLimits | undefined }[];
}

export interface BuildRouteTableOptions {
  routes: readonly { owner: string; route: RestRoute }[];
  /** Operation documents per plugin (text or file URLs). */
  operations: readonly { owner: string; source: string | URL }[];
  profiles: readonly RestProfile[];
  config: Record<string, RestProfileConfig>;
  schema: GraphQLSchema;
}

/**
 * Compiles every plugin's routes: finds each route's operation, validates it against the schema,
 * mounts it under its profile's prefix and listener, and fails at boot on conflicts.
 */
export function buildRouteTable({ routes, operations, profiles, config, schema }: BuildRouteTableOptions): RestListenerPlan[] {
  const documents = collectOperations(operations, schema);
  const profileById = new Map(profiles.map((p) => [p.id, p]));
  const listeners = new Map<string, RestListenerPlan>();
  const mounts = new Map<string, RestListenerPlan['mounts'][number]>();

  for (const profile of profiles) {
    const profileConfig = config[profile.id];
    if (profileConfig?.enabled === false) continue;
    const listen = profileConfig?.listen;
    const id = listen ? `${listen.host}:${listen.port}` : 'main';
    let plan = listeners.get(id);
    if (!plan) {
      plan = { id, listen, mounts: [] };
      listeners.set(id, plan);
    }
    const mount = { profile, prefix: normalisePrefix(profileConfig?.prefix ?? (listen ? undefined : profile.defaultPrefix) ?? '/'), routes: [] as CompiledRoute[], rateLimits: resolveRateLimits(profile.rateLimits, profileConfig?.rateLimits) };
    plan.mounts.push(mount);
    mounts.set(profile.id, mount);
  }

  const seen = new Map<string, CompiledRoute>();
  for (const { owner, route } of routes) {
    if (!profileById.has(route.profile)) throw new KernelError('BP_ERR_REST_OPERATION', `plugin '${owner}': route ${route.method} ${route.path} names unknown profile '${route.profile}'`);
    const mount = mounts.get(route.profile);
    if (!mount) continue; // profile disabled in config
    const found = documents.get(route.operation);
    if (!found) throw new KernelError('BP_ERR_REST_OPERATION', `plugin '${owner}': route ${route.method} ${route.path} runs operation '${route.operation}', which no operations document defines`);
    const streamDocument = route.stream ? streamOperation(owner, route, documents) : undefined;
    if (route.websocket && (route.method !== 'GET' || !streamDocument)) {
      throw new KernelError('BP_ERR_REST_OPERATION', `plugin '${owner}': WebSocket route ${route.method} ${route.path} must be a GET with a stream`);
    }
    const template = joinPath(mount.prefix, route.path);
    const { pattern, paramNames, tailParam } = compileTemplate(template);
    const rateClass = route.rateLimit ?? 'default';
    if (rateClass !== 'default' && rateClass !== 'heavy' && rateClass !== 'none') {
      throw new KernelError('BP_ERR_REST_OPERATION', `plugin '${owner}': route ${route.method} ${route.path} has rateLimit '${String(rateClass)}'; expected default, heavy or none`);
    }
    const compiled: CompiledRoute = {
      route,
      owner,
      profile: mount.profile,
      template,
      pattern,
      paramNames,
      tailParam,
      document: found.document,
      streamDocument,
      public: requiredScope(schema, found.document) === 'public',
      rateLimit: mount.rateLimits && rateClass !== 'none' ? { class: rateClass, bucket: mount.rateLimits[rateClass] } : undefined,
    };
    const listenerId = [...listeners.values()].find((l) => l.mounts.includes(mount))!.id;
    const key = `${listenerId} ${route.method} ${template.replace(/\{[A-Za-z0-9_]+\}/g, '{}').replace(/\{[A-Za-z0-9_]+\*\}/g, '{*}')}`;
    const clash = seen.get(key);
    if (clash) {
      throw new KernelError('BP_ERR_REST_ROUTE_CONFLICT', `${route.method} ${template} is claimed by '${clash.owner}' (${clash.profile.id}) and '${owner}' (${route.profile})`);
    }
    seen.set(key, compiled);
    mount.routes.push(compiled);
  }
  return [...listeners.values()];
}

/** The subscription a streaming route runs (a boot error unless it is one). */
function streamOperation(owner: string, route: RestRoute, documents: Map<string, { document: DocumentNode }>): DocumentNode {
  const name = route.stream!.operation;
  const found = documents.get(name);
  const op = found?.document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (!found || op?.operation !== 'subscription') {
    throw new KernelError('BP_ERR_REST_OPERATION', `plugin '${owner}': route ${route.method} ${route.path} streams operation '${name}', which ${found ? 'is not a subscription' : 'no operations document defines'}`);
  }
  return found.document;
}

function collectOperations(sources: BuildRouteTableOptions['operations'], schema: GraphQLSchema): Map<string, { owner: string; document: DocumentNode }> {
  const byName = new Map<string, { owner: string; document: DocumentNode }>();
  for (const { owner, source } of sources) {
    const text = source instanceof URL ? readFileSync(fileURLToPath(source), 'utf8') : source;
    const where = source instanceof URL ? fileURLToPath(source) : `plugin '${owner}'`;
    let parsed: DocumentNode;
    try {
      parsed = parse(text);
    } catch (error) {
      throw new KernelError('BP_ERR_REST_OPERATION', `${where}: ${(error as Error).message}`);
    }
    const fragments = parsed.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
    // One validation of the whole file: each operation with its fragments is a part of it, so a
    // file without errors has none in any operation, at a fraction of the per-operation passes
    // (each repeats the rules' setup and the shared fragments). A file with errors is checked
    // operation by operation, which names the operation and ignores, as before, what none uses.
    const fileValid = validate(schema, parsed).length === 0;
    for (const op of parsed.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)) {
      const name = op.name?.value;
      if (!name) throw new KernelError('BP_ERR_REST_OPERATION', `${where}: every operation needs a name`);
      if (byName.has(name)) throw new KernelError('BP_ERR_REST_OPERATION', `${where}: operation '${name}' is defined twice`);
      const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [op, ...usedFragments(op, fragments)] };
      const errors = fileValid ? [] : validate(schema, document);
      if (errors.length > 0) throw new KernelError('BP_ERR_REST_OPERATION', `${where}: operation '${name}' does not validate: ${errors.map((e) => e.message).join('; ')}`);
      byName.set(name, { owner, document });
    }
  }
  return byName;
}

/** The fragments an operation spreads, directly or through other fragments. */
function usedFragments(op: OperationDefinitionNode, fragments: FragmentDefinitionNode[]): FragmentDefinitionNode[] {
  const byName = new Map(fragments.map((f) => [f.name.value, f]));
  const used = new Map<string, FragmentDefinitionNode>();
  const visit = (node: unknown) => {
    visitSpreads(node, (name) => {
      const fragment = byName.get(name);
      if (!fragment || used.has(name)) return;
      used.set(name, fragment);
      visit(fragment.selectionSet);
    });
  };
  visit(op.selectionSet);
  return [...used.values()];
}

function visitSpreads(node: unknown, onSpread: (name: string) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) visitSpreads(item, onSpread);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as { kind?: string; name?: { value: string } };
  if (record.kind === Kind.FRAGMENT_SPREAD && record.name) onSpread(record.name.value);
  for (const [key, value] of Object.entries(node)) if (key !== 'loc') visitSpreads(value, onSpread);
}

function normalisePrefix(prefix: string): string {
  return prefix === '/' ? '' : prefix.replace(/\/+$/, '');
}

function joinPath(prefix: string, path: string): string {
  return `${prefix}${path.startsWith('/') ? path : `/${path}`}`;
}

/** `{name}` matches one segment; a final `{name*}` the rest of the path (see RestRoute.path). */
function compileTemplate(template: string): { pattern: RegExp; paramNames: string[]; tailParam: string | undefined } {
  const paramNames: string[] = [];
  let tailParam: string | undefined;
  const parts = template.split(/(\{[A-Za-z_][A-Za-z0-9_]*\*?\})/);
  const source = parts
    .map((part, i) => {
      const param = /^\{([A-Za-z_][A-Za-z0-9_]*)(\*?)\}$/.exec(part);
      if (param) {
        if (param[2] && parts.slice(i + 1).join('') !== '') throw new KernelError('BP_ERR_REST_OPERATION', `route ${template}: a {name*} parameter must end the path`);
        paramNames.push(param[1]);
        if (param[2]) tailParam = param[1];
        return param[2] ? '(.*)' : '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { pattern: new RegExp(`^${source}$`), paramNames, tailParam };
}
