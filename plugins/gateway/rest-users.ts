import { InputError, type RestRegistrar, type RestRequest } from '../../core/plugin-api.ts';
import { ok, wireUser } from './wire.ts';

const profile = 'mlserve';

/** A string field of a JSON body, or undefined; a 400 for another type. */
export function bodyString(request: RestRequest, field: string): string | undefined {
  const body = (request.body ?? {}) as Record<string, unknown>;
  if (typeof body !== 'object' || Array.isArray(body)) throw new InputError('expected a JSON object');
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InputError(`${field}: expected a string`, { details: { field } });
  return value;
}

/**
 * The MLServe admin API's users: `/api/users` CRUD, `/api/users/{id}/apps` and the
 * `auth`/`unauth` of a user on an app. `{id}` is the user name. Answers never carry a
 * password (the seed lists one in user responses: a leak not copied).
 */
export function addUserRoutes(routes: RestRegistrar): void {
  routes.add({
    profile,
    method: 'GET',
    path: '/api/users',
    operation: 'GatewayRestUsers',
    reply: (data: { users: { name: string; role: string; tags: string }[]; gatewayApps: { name: string; consumers: { user: string }[] }[] }) => ({
      json: { users: data.users.map((u) => wireUser(u, data.gatewayApps.filter((a) => a.consumers.some((c) => c.user === u.name)).map((a) => a.name))) },
    }),
  });
  routes.add({
    profile,
    method: 'POST',
    path: '/api/users',
    operation: 'GatewayRestCreateUser',
    rateLimit: 'heavy',
    variables: (r) => ({ name: bodyString(r, 'name') ?? '', password: bodyString(r, 'password') ?? '', role: bodyString(r, 'role') ?? '', tags: bodyString(r, 'tags') ?? '' }),
    reply: () => ok,
  });
  routes.add({
    profile,
    method: 'GET',
    path: '/api/users/{id}',
    operation: 'GatewayRestUser',
    variables: { name: 'params.id' },
    reply: (data: { user: { name: string; role: string; tags: string }; gatewayUserApps: string[] }) => ({ json: wireUser(data.user, data.gatewayUserApps) }),
  });
  routes.add({
    profile,
    method: 'PATCH',
    path: '/api/users/{id}',
    operation: 'GatewayRestUpdateUser',
    rateLimit: 'heavy',
    variables: (r) => ({ name: r.params.id, password: bodyString(r, 'password'), role: bodyString(r, 'role'), tags: bodyString(r, 'tags') }),
    reply: () => ok,
  });
  routes.add({ profile, method: 'DELETE', body: 'ignore', path: '/api/users/{id}', operation: 'GatewayRestDeleteUser', variables: { name: 'params.id' }, reply: () => ok });
  routes.add({
    profile,
    method: 'GET',
    path: '/api/users/{id}/apps',
    operation: 'GatewayRestUserApps',
    variables: { name: 'params.id' },
    reply: (data: { gatewayUserApps: string[] }) => ({ json: { apps: data.gatewayUserApps } }),
  });
  routes.add({ profile, method: 'POST', path: '/api/users/{id}/apps/{app}/auth', operation: 'GatewayRestAuthUserApp', body: 'ignore', variables: { user: 'params.id', app: 'params.app' }, reply: () => ok });
  routes.add({ profile, method: 'POST', path: '/api/users/{id}/apps/{app}/unauth', operation: 'GatewayRestUnauthUserApp', body: 'ignore', variables: { user: 'params.id', app: 'params.app' }, reply: () => ok });
}
