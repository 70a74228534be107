import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';

/** Where GraphiQL's static files are served; public like the page itself (see docs/security.md). */
export const GRAPHIQL_ASSETS_PATH = '/graphql/assets/';

const packageName = '@graphql-yoga/graphiql';

/** What the page loads, by the name it is served under → the file in the package's `dist/`. */
const assetFiles = new Map<string, { file: string; contentType: string }>([
  ['graphiql.css', { file: 'graphiql.css', contentType: 'text/css; charset=utf-8' }],
  ['yoga-graphiql.umd.js', { file: 'yoga-graphiql.umd.js', contentType: 'text/javascript; charset=utf-8' }],
  ['editor.worker.js', { file: 'monacoeditorwork/editor.worker.bundle.js', contentType: 'text/javascript; charset=utf-8' }],
  ['json.worker.js', { file: 'monacoeditorwork/json.worker.bundle.js', contentType: 'text/javascript; charset=utf-8' }],
  ['graphql.worker.js', { file: 'monacoeditorwork/graphql.worker..bundle.js', contentType: 'text/javascript; charset=utf-8' }],
]);

// A favicon inline, so the browser asks no one for one.
const favicon = `data:image/svg+xml,${encodeURIComponent("<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'><circle cx='8' cy='8' r='7' fill='#e10098'/></svg>")}`;

export interface GraphiQLAssets {
  /** `/graphql/assets/<package version>/`: versioned, so the files can be cached as immutable. */
  readonly baseUrl: string;
  /** yoga's `renderGraphiQL`: the page, referring only to this daemon's own URLs. */
  render(options: GraphiQLOptions): string;
  /** A yoga plugin answering `GET`/`HEAD` under {@link GRAPHIQL_ASSETS_PATH}. */
  plugin(): Plugin;
}

/**
 * GraphiQL without a CDN: yoga's built-in page loads its CSS, JS and Monaco workers from unpkg,
 * which an air-gapped host never reaches. This serves the same files from the installed
 * `@graphql-yoga/graphiql` package (a fixed list, so no request path ever reaches the disk) and
 * renders a page whose Content-Security-Policy admits only this origin.
 */
export function createGraphiQLAssets(): GraphiQLAssets {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve(`${packageName}/package.json`);
  const { version } = require(manifestPath) as { version: string };
  const distDir = path.join(path.dirname(manifestPath), 'dist');
  const baseUrl = `${GRAPHIQL_ASSETS_PATH}${version}/`;

  const render = (options: GraphiQLOptions): string => {
    const title = escapeHtml(options.title ?? 'GraphiQL');
    const workers = { editorWorkerService: `${baseUrl}editor.worker.js`, json: `${baseUrl}json.worker.js`, graphql: `${baseUrl}graphql.worker.js` };
    // Monaco asks for a worker per language; the render waits for the bundle (the next script).
    const boot =
      `var W=${scriptJson(workers)};` +
      'self.MonacoEnvironment={globalAPI:false,getWorkerUrl:function(_m,label){return W[label]||W.editorWorkerService}};' +
      `addEventListener('DOMContentLoaded',function(){YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'),${scriptJson(options)})});`;
    const bootHash = createHash('sha256').update(boot).digest('base64');
    const csp = [
      "default-src 'none'",
      `script-src 'self' 'sha256-${bootHash}'`,
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "font-src 'self' data:",
      "connect-src 'self'",
      "worker-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
    ].join('; ');
    return (
      `<!doctype html><html lang=en><head><meta charset=utf-8><meta http-equiv="Content-Security-Policy" content="${csp}">` +
      `<title>${title}</title><link rel=icon href="${favicon}"><link rel=stylesheet href="${baseUrl}graphiql.css"></head>` +
      `<body id=body class=no-focus-outline><noscript>GraphiQL needs JavaScript.</noscript><div id=root>Loading ${title}…</div>` +
      `<script>${boot}</script><script src="${baseUrl}yoga-graphiql.umd.js"></script></body></html>`
    );
  };

  const plugin = (): Plugin => ({
    onRequest({ url, request, endResponse, fetchAPI }) {
      if (!url.pathname.startsWith(GRAPHIQL_ASSETS_PATH)) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: 'GET, HEAD' } }));
        return;
      }
      const asset = url.pathname.startsWith(baseUrl) ? assetFiles.get(url.pathname.slice(baseUrl.length)) : undefined;
      if (!asset) {
        endResponse(new fetchAPI.Response('GraphiQL asset not found\n', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } }));
        return;
      }
      const file = path.join(distDir, asset.file);
      // The table is fixed, but a file outside the package must never be served.
      if (!file.startsWith(distDir + path.sep)) throw new Error(`GraphiQL asset outside ${distDir}: ${file}`);
      return stat(file).then((info) => {
        const headers = {
          'content-type': asset.contentType,
          'content-length': String(info.size),
          // The URL carries the package version: a new version is a new URL.
          'cache-control': 'public, max-age=31536000, immutable',
          'x-content-type-options': 'nosniff',
        };
        const body = request.method === 'HEAD' ? null : (Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>);
        endResponse(new fetchAPI.Response(body, { status: 200, headers }));
      });
    },
  });

  return { baseUrl, render, plugin };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside a `<script>` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value ?? {}).replace(/</g, '\\u003c');
}
