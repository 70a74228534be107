import type { ModelEndpoint } from '../../core/plugin-api.ts';
import type { GatewayApp, GatewayRoute } from './types.ts';

/**
 * The public path a route publishes under its app's prefix: KServe v2 keeps its own layout
 * (`<prefix>/v2/models/<name>/infer`, `…/ready`, metadata), an OpenAI server gets a base URL of
 * its own (`<prefix>/<name>/v1`, so `…/v1/chat/completions` and `…/v1/models`).
 */
export function publicPath(app: Pick<GatewayApp, 'prefix'>, route: Pick<GatewayRoute, 'modelName' | 'protocol'>): string {
  return route.protocol === 'kserve-v2' ? `${app.prefix}/v2/models/${route.modelName}` : `${app.prefix}/${route.modelName}/v1`;
}

/** What the public path maps onto at the backend. */
export function upstreamBase(endpoint: ModelEndpoint): string {
  const base = endpoint.baseUrl.replace(/\/+$/, '');
  return endpoint.protocol === 'kserve-v2' ? `${base}/v2/models/${encodeURIComponent(endpoint.model)}` : `${base}/v1`;
}

/** The call a client makes most (the seed's route `url`): infer, or chat completions. */
export function callPath(app: Pick<GatewayApp, 'prefix'>, route: Pick<GatewayRoute, 'modelName' | 'protocol'>): string {
  return `${publicPath(app, route)}${route.protocol === 'kserve-v2' ? '/infer' : '/chat/completions'}`;
}

/** The route whose public path `path` is or lies under, and the rest of the path after it. */
export function matchRoute(app: GatewayApp, path: string): { route: GatewayRoute; rest: string } | undefined {
  let best: { route: GatewayRoute; rest: string; length: number } | undefined;
  for (const route of app.routes) {
    const base = publicPath(app, route);
    if (path !== base && !path.startsWith(`${base}/`)) continue;
    if (!best || base.length > best.length) best = { route, rest: path.slice(base.length), length: base.length };
  }
  return best && { route: best.route, rest: best.rest };
}
