import { coreRoutes } from '../../core/core-modules.ts';
import { restProfiles } from '../../core/rest/profiles.ts';
import type { PluginDefinition } from '../../core/plugin-api.ts';
import type { RestRoute } from '../../core/rest/route.ts';
import { builtinPlugins } from '../../plugins/index.ts';
import { restTestPlugin } from '../../test/helpers/rest-test-plugin.ts';

/** A legacy route as the fuzzer knows it: only what a client could learn from the docs. */
export interface RouteTemplate {
  owner: string;
  profile: string;
  method: string;
  /** Full path template, under the profile's default mount (the fuzz config sets no `prefix`). */
  path: string;
  paramNames: string[];
  /** Whether the route reads a body (`ignore` routes never do). */
  readsBody: boolean;
  /** How the route reads its body (`json`, `multipart`, `stream`, …), as its table entry says. */
  bodyMode: NonNullable<RestRoute['body']>;
  /** The route's own body limit when it sets one; otherwise the daemon's `server.bodyLimitBytes` applies. */
  maxBodyBytes?: number;
}

/** The plugins the fuzz daemon runs besides the built-ins, so every profile has routes. */
export const extraPlugins: readonly PluginDefinition<any, any>[] = [restTestPlugin];

/**
 * Every REST route of every profile. The plugins' `rest()` registrations are called with a
 * recorder only to list method and path; nothing else of the plugins is used, and the daemon
 * under test builds its own table.
 */
export function listRoutes(): RouteTemplate[] {
  const out: RouteTemplate[] = [];
  const mounts = new Map(restProfiles.map((profile) => [profile.id, profile.defaultPrefix?.replace(/\/+$/, '') ?? '']));
  const record = (owner: string, route: RestRoute) => {
    const path = `${mounts.get(route.profile) ?? ''}${route.path}`;
    const paramNames = [...path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]);
    const body = route.body ?? (route.method === 'GET' ? 'ignore' : 'json');
    out.push({ owner, profile: route.profile, method: route.method, path, paramNames, readsBody: body !== 'ignore', bodyMode: body, maxBodyBytes: route.maxBodyBytes });
  };
  for (const route of coreRoutes) record('core', route);
  for (const def of [...builtinPlugins, ...extraPlugins]) def.rest?.({ add: (route) => record(def.id, route) });
  return out;
}

/** `ilab-ui POST /model/train`: the family a request is counted under. */
export const routeLabel = (route: Pick<RouteTemplate, 'profile' | 'method' | 'path'>) => `${route.profile} ${route.method} ${route.path}`;
