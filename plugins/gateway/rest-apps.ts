import { InputError, type RestRegistrar, type RestRequest } from '../../core/plugin-api.ts';
import { bodyString } from './rest-users.ts';
import { ok, wireApp, wireConsumer, wireRoute, type AppFields, type ConsumerFields, type RouteFields } from './wire.ts';

const profile = 'mlserve';

/** An integer field that the seed sends as a number or a numeric string (`"retries": str`). */
function bodyInt(request: RestRequest, field: string): number | undefined {
  const value = ((request.body ?? {}) as Record<string, unknown>)[field];
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number)) throw new InputError(`${field}: expected an integer`, { details: { field } });
  return number;
}

/** The seed's app body (`name`, `host` or `ip`, `retries`; `gpus` is ignored) plus the gateway's own fields. */
function appInput(request: RestRequest) {
  const body = request.body ?? {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new InputError('expected a JSON object');
  return {
    name: bodyString(request, 'name'),
    host: bodyString(request, 'host') ?? bodyString(request, 'ip'),
    prefix: bodyString(request, 'prefix'),
    retries: bodyInt(request, 'retries'),
    timeoutMs: bodyInt(request, 'timeout_ms'),
    rateLimit: bodyInt(request, 'rate_limit'),
    rateWindowSeconds: bodyInt(request, 'rate_window_seconds'),
  };
}

/**
 * The MLServe admin API's applications: `/api/apps` CRUD, `/api/apps/{id}/routes[/{model}]`
 * (import or remove a model as a route) and `/api/apps/{id}/consumers[/{consumer}]`. `{id}`
 * is the app name; `{model}` an endpoint id (percent-encoded) or a served model name.
 */
export function addAppRoutes(routes: RestRegistrar): void {
  routes.add({ profile, method: 'GET', path: '/api/apps', operation: 'GatewayRestApps', reply: (data: { gatewayApps: AppFields[] }) => ({ json: { apps: data.gatewayApps.map(wireApp) } }) });
  routes.add({ profile, method: 'POST', path: '/api/apps', operation: 'GatewayRestCreateApp', variables: (r) => ({ input: appInput(r) }), reply: (data: { createGatewayApp: AppFields }) => ({ json: wireApp(data.createGatewayApp) }) });
  routes.add({ profile, method: 'GET', path: '/api/apps/{id}', operation: 'GatewayRestApp', variables: { name: 'params.id' }, reply: (data: { gatewayApp: AppFields }) => ({ json: wireApp(data.gatewayApp) }) });
  routes.add({
    profile,
    method: 'PATCH',
    path: '/api/apps/{id}',
    operation: 'GatewayRestUpdateApp',
    variables: (r) => ({ name: r.params.id, input: appInput(r) }),
    reply: (data: { updateGatewayApp: AppFields }) => ({ json: wireApp(data.updateGatewayApp) }),
  });
  routes.add({ profile, method: 'DELETE', body: 'ignore', path: '/api/apps/{id}', operation: 'GatewayRestDeleteApp', variables: { name: 'params.id' }, reply: () => ok });
  routes.add({
    profile,
    method: 'GET',
    path: '/api/apps/{id}/routes',
    operation: 'GatewayRestAppRoutes',
    variables: { name: 'params.id' },
    reply: (data: { gatewayApp: { routes: RouteFields[] } }) => ({ json: { routes: data.gatewayApp.routes.map(wireRoute) } }),
  });
  routes.add({
    profile,
    method: 'POST',
    path: '/api/apps/{id}/routes/{model}',
    operation: 'GatewayRestAddRoute',
    body: 'json-optional',
    variables: (r) => ({ app: r.params.id, model: r.params.model, endpoint: r.body === undefined ? undefined : bodyString(r, 'endpoint') }),
    reply: () => ok,
  });
  routes.add({ profile, method: 'DELETE', body: 'ignore', path: '/api/apps/{id}/routes/{model}', operation: 'GatewayRestRemoveRoute', variables: { app: 'params.id', model: 'params.model' }, reply: () => ok });
  routes.add({
    profile,
    method: 'GET',
    path: '/api/apps/{id}/consumers',
    operation: 'GatewayRestAppConsumers',
    variables: { name: 'params.id' },
    reply: (data: { gatewayApp: { consumers: ConsumerFields[] } }) => ({ json: { consumers: data.gatewayApp.consumers.map(wireConsumer) } }),
  });
  routes.add({ profile, method: 'POST', path: '/api/apps/{id}/consumers/{consumer}', operation: 'GatewayRestAddConsumer', body: 'ignore', variables: { app: 'params.id', user: 'params.consumer' }, reply: () => ok });
  routes.add({ profile, method: 'DELETE', body: 'ignore', path: '/api/apps/{id}/consumers/{consumer}', operation: 'GatewayRestRemoveConsumer', variables: { app: 'params.id', user: 'params.consumer' }, reply: () => ok });
}
