import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { YogaServerInstance } from 'graphql-yoga';
import type { GraphQLContext } from '../graphql/context.ts';
import { GRAPHIQL_ASSETS_PATH } from '../graphql/graphiql-assets.ts';
import type { ServerContext } from '../graphql/yoga.ts';
import type { PluginState } from '../kernel/plugin-host.ts';
import type { RestRequestContext } from '../rest/rest-handler.ts';
import type { Logger } from '../services/logger-service.ts';
import type { Authenticator } from './auth.ts';
import { requestAddress } from '../auth/request-address.ts';
import { applyCors } from './cors.ts';
import type { HttpMounts } from './http-mounts.ts';
import type { Metrics } from './metrics.ts';
import type { UploadStore } from '../uploads/upload-store.ts';
import { serveUpload } from '../uploads/upload-route.ts';
import { parseRequestTarget, targetUrl } from './request-target.ts';

type RestHandler = (req: IncomingMessage, res: ServerResponse, url: URL, ctx: RestRequestContext) => Promise<boolean>;

export interface HttpAppOptions {
  /** The daemon's own listener serves GraphQL and the ops endpoints; profile listeners only REST. */
  main: boolean;
  yoga: YogaServerInstance<ServerContext, GraphQLContext>;
  /** Answers plain JSON queries and mutations without yoga's Fetch-API layer; false when not eligible. */
  fastPath(req: IncomingMessage, res: ServerResponse, server: ServerContext): Promise<boolean>;
  rest: RestHandler | undefined;
  authenticator: Authenticator;
  /** Serves an unauthenticated `/graphql` request made only of public fields (`login`); false: answer 401. */
  publicOperation?(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<boolean>;
  metrics: Metrics;
  corsOrigins: '*' | readonly string[];
  logger: Logger;
  plugins(): PluginState[];
  /** Ready: every plugin booted and the daemon is not stopping. */
  ready(): boolean;
  /** The web dashboard (dashboard-route.ts), tried after GraphQL and before REST; the metrics route label, or undefined when not its path. */
  dashboard?(req: IncomingMessage, res: ServerResponse, url: URL): Promise<string | undefined>;
  /** Stages `POST /uploads` bodies for GraphQL clients (main listener). */
  uploads?: UploadStore;
  uploadLimitBytes?: number;
  /** Plugins' raw HTTP mounts (`services.httpMounts`), tried after GraphQL on the main listener. */
  mounts?: HttpMounts;
}

const json = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), ...extra });
  res.end(payload);
};

/** The request handler of one listener: ops endpoints, `/graphql`, then legacy REST routes. */
export function createHttpApp(options: HttpAppOptions) {
  const { yoga, rest, authenticator, metrics, logger } = options;

  // The client address rides along for checks deep in resolvers (failed logins per address).
  return (req: IncomingMessage, res: ServerResponse): Promise<void> => requestAddress.run(req.socket.remoteAddress ?? '', handle, req, res);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'].slice(0, 64) : randomUUID();
    let route = 'unmatched';
    res.once('finish', () => metrics.observe(route, req.method ?? 'GET', res.statusCode, (performance.now() - started) / 1000));
    res.setHeader('x-request-id', requestId);

    // An absolute-form target (`GET http://host/models`) is served as its path, as Go does.
    const target = parseRequestTarget(req.url ?? '/');
    const url = target && targetUrl(target);
    if (!target || !url) {
      json(res, 400, { error: 'malformed request URL' });
      return;
    }
    if (applyCors(req, res, options.corsOrigins)) {
      route = 'preflight';
      return;
    }

    try {
      if (options.main) {
        const path = url.pathname;
        if (path === '/healthz') {
          route = '/healthz';
          json(res, 200, { status: 'ok' });
          return;
        }
        if (path === '/readyz') {
          route = '/readyz';
          const ready = options.ready();
          json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', plugins: options.plugins().map(({ id, status, message }) => ({ id, status, message })) });
          return;
        }
        if (path === '/metrics') {
          route = '/metrics';
          if (!authenticator.authenticate(req.headers)) {
            json(res, 401, { error: 'unauthenticated' }, { 'www-authenticate': 'Bearer' });
            return;
          }
          const body = metrics.render(options.plugins()) + (options.mounts?.renderMetrics() ?? '');
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
          res.end(body);
          return;
        }
        if (path === '/uploads' && options.uploads) {
          route = '/uploads';
          await serveUpload(req, res, { store: options.uploads, maxBytes: options.uploadLimitBytes ?? 1024 ** 3, auth: authenticator.authenticate(req.headers) });
          return;
        }
        const graphiqlAsset = path.startsWith(GRAPHIQL_ASSETS_PATH);
        if (path === '/graphql' || graphiqlAsset) {
          route = graphiqlAsset ? GRAPHIQL_ASSETS_PATH : '/graphql';
          const auth = authenticator.authenticate(req.headers);
          // GraphiQL (a browser GET for text/html) and its static files are public; operations still need a key.
          const wantsPage = graphiqlAsset || (req.method === 'GET' && String(req.headers.accept ?? '').includes('text/html'));
          if (!auth && !wantsPage) {
            if (await options.publicOperation?.(req, res, requestId)) return;
            json(res, 401, { errors: [{ message: 'Unauthorized: send an API key or access token as Authorization: Bearer <key> (or the key as X-API-Key)', extensions: { code: 'UNAUTHENTICATED' } }] }, { 'www-authenticate': 'Bearer' });
            return;
          }
          // yoga rebuilds the URL from req.url and Host: an absolute-form target would not parse.
          if (!(req.url ?? '/').startsWith('/')) req.url = `${url.pathname}${url.search}`;
          const badParam = req.method === 'GET' ? invalidJsonParam(url.searchParams) : undefined;
          if (badParam) {
            // yoga would throw the SyntaxError as an unexpected (masked) error.
            json(res, 400, { errors: [{ message: `The "${badParam}" query parameter is not valid JSON.`, extensions: { code: 'BAD_REQUEST' } }] });
            return;
          }
          const server: ServerContext = { auth: auth ?? { principal: 'anonymous', scopes: new Set() }, requestId };
          if (!graphiqlAsset && (await options.fastPath(req, res, server))) return;
          // requestListener merges extra server context into `{ req, res }` (typed as two args only).
          const listener = yoga.requestListener as unknown as (rq: IncomingMessage, rs: ServerResponse, ctx: ServerContext) => Promise<void>;
          await listener(req, res, server);
          return;
        }
      }
      const mount = options.main ? options.mounts?.match(url.pathname) : undefined;
      if (mount) {
        route = mount.prefix;
        await mount.handler(req, res, { url, requestId, remoteAddress: req.socket.remoteAddress ?? '', setRoute: (label) => (route = label) });
        return;
      }
      if (options.main && options.dashboard) {
        const label = await options.dashboard(req, res, url);
        if (label !== undefined) {
          route = label;
          return;
        }
      }
      if (rest) {
        const handled = await rest(req, res, url, {
          requestId,
          target,
          auth: authenticator.authenticate(req.headers),
          setRoute: (label) => {
            route = label;
          },
        });
        if (handled) return;
      }
      json(res, 404, { error: 'not found', path: url.pathname });
    } catch (error) {
      logger.error('request failed', { error, path: url.pathname, requestId });
      if (!res.headersSent) json(res, 500, { error: 'internal server error' });
      else res.destroy();
    }
  }
}

/** The name of a GraphQL-over-HTTP GET parameter that must be JSON and is not. */
function invalidJsonParam(params: URLSearchParams): string | undefined {
  for (const name of ['variables', 'extensions']) {
    const value = params.get(name);
    if (value === null || value === '') continue;
    try {
      JSON.parse(value);
    } catch {
      return name;
    }
  }
  return undefined;
}
