import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelError } from '../errors.ts';
import type { PluginDefinition } from '../plugin-api.ts';

/** Where plugins' dashboard modules are served (see `PluginDefinition.dashboard`). */
export const DASHBOARD_PLUGINS_PATH = '/dashboard-plugins/';
/** Vite's `build.assetsDir` (dashboard/vite.config.ts): hashed file names under the page's path. */
const assetsDir = 'dashboard-assets';
const defaultDistDir = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url));

/**
 * The page's policy: its own scripts and styles only, data from this origin (HTTP and the
 * graphql-ws socket), nothing inline, no frames.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

export interface DashboardRouteOptions {
  /** `dashboard.path`, with its trailing slash. */
  path: string;
  /** The enabled plugins, for their `dashboard` pages. */
  plugins: readonly Pick<PluginDefinition, 'id' | 'dashboard'>[];
  /** True when a REST route of the main listener matches the path: the dashboard never shadows one. */
  claimedByRest(pathname: string): boolean;
  /** @default dashboard/dist of this checkout */
  distDir?: string;
}

/** What a plugin page entry lists to the browser (`GET /dashboard-plugins/`). */
interface PluginPageEntry {
  id: string;
  title: string;
  url: string;
}

/**
 * Serves the built dashboard (dashboard/dist) on the main listener: the page at `path`, its
 * hashed assets under `<path>dashboard-assets/` (immutable), and plugins' page modules under
 * `/dashboard-plugins/<id>/`. Only GET and HEAD of those paths are claimed; anything else (and
 * any path a REST route matches) is left to the next handler. Files come from fixed lists read
 * from disk, so no request path ever reaches the file system. A checkout that was not built
 * gets a 503 saying how to build it.
 */
export function createDashboardRoute({ path: base, plugins, claimedByRest, distDir = defaultDistDir }: DashboardRouteOptions) {
  const pluginPages = new Map<string, { file: string; name: string; entry: PluginPageEntry }>();
  for (const plugin of plugins) {
    if (!plugin.dashboard) continue;
    const { title, module } = plugin.dashboard;
    const href = String(module);
    if (typeof title !== 'string' || title.length === 0 || title.length > 40) throw new KernelError('BP_ERR_PLUGIN_INVALID', `plugin '${plugin.id}': dashboard.title must be 1-40 characters`);
    if (!href.startsWith('file:') || !/\.m?js$/.test(href)) throw new KernelError('BP_ERR_PLUGIN_INVALID', `plugin '${plugin.id}': dashboard.module must be a file: URL of a .js or .mjs module, got ${JSON.stringify(href)}`);
    const file = fileURLToPath(href);
    const name = path.basename(file);
    pluginPages.set(plugin.id, { file, name, entry: { id: plugin.id, title, url: `${DASHBOARD_PLUGINS_PATH}${plugin.id}/${name}` } });
  }
  const pluginList = JSON.stringify({ pages: [...pluginPages.values()].map((p) => p.entry) });
  let index: Promise<string | undefined> | undefined;
  let assets: Promise<Set<string>> | undefined;

  // Read once when present; a missing build is looked for again on the next request.
  const loadIndex = () => {
    index ??= readFile(path.join(distDir, 'index.html'), 'utf8').catch(() => {
      index = undefined;
      return undefined;
    });
    return index;
  };
  const loadAssets = () => {
    assets ??= readdir(path.join(distDir, assetsDir)).then(
      (names) => new Set(names),
      () => {
        assets = undefined;
        return new Set<string>();
      },
    );
    return assets;
  };

  /** Serves the request and names the route for metrics, or answers undefined to pass it on. */
  return async function handleDashboard(req: IncomingMessage, res: ServerResponse, url: URL): Promise<string | undefined> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
    const pathname = url.pathname;
    if (pathname === DASHBOARD_PLUGINS_PATH) {
      send(req, res, 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' }, pluginList);
      return DASHBOARD_PLUGINS_PATH;
    }
    if (pathname.startsWith(DASHBOARD_PLUGINS_PATH)) {
      const [id, name, ...rest] = pathname.slice(DASHBOARD_PLUGINS_PATH.length).split('/');
      const page = pluginPages.get(id);
      if (!page || name !== page.name || rest.length > 0) {
        send(req, res, 404, { 'content-type': 'text/plain; charset=utf-8' }, 'dashboard plugin module not found\n');
      } else {
        // Not hashed: revalidate, so a plugin upgrade shows at the next load.
        await sendFile(req, res, page.file, { 'cache-control': 'no-cache' });
      }
      return DASHBOARD_PLUGINS_PATH;
    }
    if (!pathname.startsWith(base) && `${pathname}/` !== base) return undefined;
    if (claimedByRest(pathname)) return undefined;
    if (`${pathname}/` === base) {
      // `/ui` → `/ui/`: the page's relative asset URLs need the slash.
      res.writeHead(301, { location: `${base}${url.search}`, 'content-length': '0' }).end();
      return base;
    }
    const rest = pathname.slice(base.length);
    if (rest === '' || rest === 'index.html') {
      const html = await loadIndex();
      if (html === undefined) {
        send(req, res, 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'retry-after': '60' }, 'The dashboard is not built in this checkout: run `npm run build:dashboard` (npm ci does it), then reload.\n');
        return base;
      }
      send(req, res, 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'content-security-policy': DASHBOARD_CSP, 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' }, html);
      return base;
    }
    const prefix = `${assetsDir}/`;
    if (!rest.startsWith(prefix)) return undefined;
    const name = rest.slice(prefix.length);
    const files = await loadAssets();
    if (name.endsWith('.gz') || !files.has(name)) {
      send(req, res, 404, { 'content-type': 'text/plain; charset=utf-8' }, 'dashboard asset not found\n');
      return `${base}${prefix}`;
    }
    // The name carries the content hash: a new build is a new URL.
    const headers: Record<string, string> = { 'cache-control': 'public, max-age=31536000, immutable', vary: 'accept-encoding' };
    const gzip = files.has(`${name}.gz`) && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) headers['content-encoding'] = 'gzip';
    await sendFile(req, res, path.join(distDir, assetsDir, gzip ? `${name}.gz` : name), headers, contentTypeOf(name));
    return `${base}${prefix}`;
  };
}

function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function contentTypeOf(file: string): string {
  return contentTypes[path.extname(file)] ?? 'application/octet-stream';
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, headers: Record<string, string>, type = contentTypeOf(file)): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    send(req, res, 404, { 'content-type': 'text/plain; charset=utf-8' }, 'not found\n');
    return;
  }
  res.writeHead(200, { ...headers, 'content-type': type, 'content-length': info.size, 'x-content-type-options': 'nosniff' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const stream = createReadStream(file);
    stream.once('error', () => {
      res.destroy();
      resolve();
    });
    stream.pipe(res).once('finish', () => resolve());
    res.once('close', () => {
      stream.destroy();
      resolve();
    });
  });
}
