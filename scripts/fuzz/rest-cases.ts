import type { FuzzCase } from './fuzz-case.ts';
import { deepJson, hostileString, invalidUtf8, mixedString, percentEncode, wrongTypedValue, type PayloadContext } from './payloads.ts';
import type { Prng } from './prng.ts';
import type { RawRequest } from './raw-http.ts';
import { routeLabel, type RouteTemplate } from './routes.ts';

/** What the generators know about the environment: good values to start from. */
export interface FuzzWorld extends PayloadContext {
  apiKey: string;
  bodyLimitBytes: number;
  models: string[];
  modelPaths: string[];
  branches: string[];
  checkpoints: string[];
  yamlFiles: string[];
  /** Job ids seen so far (refreshed while running). */
  jobIds: string[];
  /** Job-starting requests with valid bodies left (keeps the job queue bounded). */
  validStartsLeft: number;
}

/**
 * Legacy body fields per route, as docs/ilab.md, docs/vllm-podman.md and docs/rest.md describe
 * them, with plausible values; unknown routes get fields from the whole dictionary.
 */
const knownFields: Record<string, Record<string, (rng: Prng, w: FuzzWorld) => unknown>> = {
  '/model/train': { modelName: (r, w) => r.pick(w.models), branchName: (r, w) => r.pick(w.branches), epochs: (r) => r.int(1, 2) },
  '/pipeline/generate-train': { modelName: (r, w) => r.pick(w.models), branchName: (r, w) => r.pick(w.branches), epochs: (r) => r.int(1, 2) },
  '/model/serve-latest': { checkpoint: (r, w) => r.pick(w.checkpoints) },
  '/qna-eval': { model_path: (r, w) => r.pick(w.modelPaths), yaml_file: (r, w) => r.pick(w.yamlFiles) },
  '/model/convert': { model_dir: (r, w) => r.pick(w.modelPaths) },
  '/vllm-unload': { model_name: (r) => r.pick(['pre-train', 'post-train']) },
  '/api/things': { name: (r) => r.pick(['a', 'thing']), size: (r) => r.int(0, 9) },
  '/training-manager/datasets': { name: (r) => r.pick(['a', 'thing']), size: (r) => r.int(0, 9) },
  '/api/rest-test': { name: (r) => r.pick(['a', 'thing']), size: (r) => r.int(0, 9) },
  '/api/v1/things': { name: (r) => r.pick(['a', 'thing']), size: (r) => r.int(0, 9) },
};
const allFieldNames = [...new Set(Object.values(knownFields).flatMap((f) => Object.keys(f)))];
/** Routes whose valid request starts a job or a server. */
const startsWork = new Set(['/model/train', '/pipeline/generate-train', '/model/serve-latest', '/model/serve-base', '/qna-eval', '/model/convert', '/data/generate']);
const queryParams: Record<string, string[]> = { '/jobs/{job_id}/logs': ['lines'], '/vllm-status': ['model_name'] };

export type RestKind =
  | 'valid'
  | 'param'
  | 'query'
  | 'header'
  | 'auth'
  | 'body-wrong-type'
  | 'body-hostile-strings'
  | 'body-key-case'
  | 'body-malformed'
  | 'body-deep'
  | 'oversize'
  | 'method'
  | 'path-shape'
  | 'content-type';

const kinds: readonly (readonly [number, RestKind])[] = [
  [2, 'valid'],
  [4, 'param'],
  [3, 'query'],
  [2, 'header'],
  [1, 'auth'],
  [4, 'body-wrong-type'],
  [4, 'body-hostile-strings'],
  [1, 'body-key-case'],
  [3, 'body-malformed'],
  [1, 'body-deep'],
  [1, 'oversize'],
  [2, 'method'],
  [2, 'path-shape'],
  [1, 'content-type'],
];

/** Above this route limit, oversize bodies are declared, not sent (see the `oversize` case). */
const streamedOversizeMaxBytes = 4 * 1024 * 1024;

const authHeader = (w: FuzzWorld): [string, string] => ['Authorization', `Bearer ${w.apiKey}`];

/** One request aimed at `route`, mutated one way. */
export function restCase(rng: Prng, route: RouteTemplate, w: FuzzWorld): FuzzCase {
  let kind = rng.weighted(kinds);
  if (kind === 'valid' && startsWork.has(route.path) && route.method === 'POST') {
    if (w.validStartsLeft <= 0) kind = 'body-hostile-strings';
    else w.validStartsLeft--;
  }
  const family = routeLabel(route);
  const base = { family, kind, profile: route.profile, route: `${route.method} ${route.path}` };
  const headers: RawRequest['headers'] = [authHeader(w)];
  let target = fillPath(rng, route, w, kind === 'param');
  let method = route.method;
  let body: Buffer | undefined = route.method === 'GET' ? undefined : Buffer.from(JSON.stringify(validBody(rng, route, w)));
  let reaches = true;
  const request: RawRequest = { method, target, headers, body };

  switch (kind) {
    case 'valid':
    case 'param':
      break;
    case 'query': {
      const names = [...(queryParams[route.path] ?? []), 'count', 'lines', 'model_name', rng.pick(['__proto__', 'a[]', 'a[b]', '', '%zz', '%ff'])];
      const pairs = Array.from({ length: rng.int(1, 4) }, () => `${rng.chance(0.8) ? percentEncode(rng.pick(names)) : rng.pick(names)}=${queryValue(rng, w)}`);
      request.target = Buffer.concat([asBuffer(target), Buffer.from('?'), rng.chance(0.15) ? rng.pick(invalidUtf8) : Buffer.alloc(0), Buffer.from(pairs.join(rng.pick(['&', '&&', ';'])))]);
      break;
    }
    case 'header':
      headers.push(...hostileHeaders(rng, w));
      break;
    case 'auth':
      headers.splice(0, 1, ...rng.pick<[string, string | Buffer][]>([
        [],
        [['Authorization', 'Bearer']],
        [['Authorization', `Bearer ${w.apiKey}x`]],
        [['Authorization', `Basic ${Buffer.from('a:b').toString('base64')}`]],
        [['Authorization', `Bearer ${'k'.repeat(8000)}`]],
        [['X-API-Key', Buffer.concat([Buffer.from('k'), rng.pick(invalidUtf8)])]],
        [['X-API-Key', w.apiKey.toUpperCase()]],
        [['Authorization', `bearer ${w.apiKey}`]],
        [['Authorization', `Bearer ${w.apiKey}`], ['X-API-Key', 'wrong-key-wrong-key']],
      ]));
      break;
    case 'body-wrong-type':
    case 'body-hostile-strings':
    case 'body-key-case': {
      const fields = Object.keys(knownFields[route.path] ?? {}).concat(rng.chance(0.3) ? [rng.pick(allFieldNames)] : []);
      const good = validBody(rng, route, w) as Record<string, unknown>;
      const out: Record<string, unknown> = { ...good };
      for (const name of fields.length ? fields : [rng.pick(allFieldNames)]) {
        if (!rng.chance(0.7)) continue;
        if (kind === 'body-key-case') {
          const value = out[name] ?? wrongTypedValue(rng, w);
          delete out[name];
          out[rng.pick([name.toUpperCase(), name.toLowerCase(), name[0].toUpperCase() + name.slice(1), ` ${name}`, `${name}\u0000`])] = value;
        } else {
          out[name] = kind === 'body-wrong-type' ? wrongTypedValue(rng, w) : mixedString(rng, w);
        }
      }
      body = Buffer.from(rng.chance(0.1) ? JSON.stringify(rng.pick([[out], 'text', 42, null, true])) : JSON.stringify(out));
      if (rng.chance(0.1)) body = Buffer.from(`{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},${body.toString().slice(1)}`);
      request.body = body;
      break;
    }
    case 'body-malformed':
      request.body = malformedBody(rng, body ?? Buffer.from(JSON.stringify(validBody(rng, route, w))));
      break;
    case 'body-deep':
      request.body = Buffer.from(deepJson(rng, rng.pick([100, 1000, 10_000, 100_000])));
      break;
    case 'oversize': {
      // The route's own limit, as the daemon applies it: a route may allow more than the global
      // limit (tinker: 64 MiB), and a Content-Length under it is a promise the daemon waits on.
      const limit = route.maxBodyBytes ?? w.bodyLimitBytes;
      // Streaming a body past a large route limit costs the daemon that much memory for one
      // case; such routes get the declared (refused before reading) form only.
      const mode = limit > streamedOversizeMaxBytes ? 'declared' : rng.pick(['declared', 'streamed', 'chunked']);
      if (mode === 'declared') {
        // Content-Length above the limit with a short body: refused before reading on.
        request.body = Buffer.from('{}');
        request.noContentLength = true;
        headers.push(['Content-Length', String(limit + rng.int(1, 10_000_000))]);
      } else {
        const filler = Buffer.alloc(limit + rng.int(1, 4096), rng.pick(['a', ' ', '[']));
        request.body = Buffer.concat([Buffer.from('{"modelName":"'), filler, Buffer.from('"}')]);
        request.chunked = mode === 'chunked';
      }
      break;
    }
    case 'method':
      method = rng.pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'CONNECT', 'get', 'FOO', 'M-SEARCH', 'PROPFIND', 'G\u00c9T'].filter((m) => m !== route.method));
      request.method = method;
      reaches = false;
      break;
    case 'path-shape':
      request.target = pathShape(rng, asBuffer(target).toString('latin1'), w);
      reaches = false;
      break;
    case 'content-type':
      headers.push(['Content-Type', rng.pick(['application/json', 'application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/graphql', '*/*', '', 'application/json; charset=\u00ff'])]);
      if (rng.chance(0.5)) request.body = Buffer.from(rng.pick(['a=1&b=2', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n', '\ufeff{}', Buffer.from('{}', 'utf16le').toString('latin1')]), 'latin1');
      break;
  }
  return { ...base, route: reaches ? base.route : undefined, request };
}

function asBuffer(target: string | Buffer): Buffer {
  return Buffer.isBuffer(target) ? target : Buffer.from(target, 'utf8');
}

function validBody(rng: Prng, route: RouteTemplate, w: FuzzWorld): unknown {
  const fields = knownFields[route.path];
  if (!fields) return {};
  return Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, value(rng, w)]));
}

/** The route's path with its parameters filled: plausible values, or hostile ones. */
function fillPath(rng: Prng, route: RouteTemplate, w: FuzzWorld, hostile: boolean): string | Buffer {
  const parts = route.path.split(/(\{[A-Za-z_][A-Za-z0-9_]*\})/);
  const out: Buffer[] = [];
  for (const part of parts) {
    if (!/^\{.*\}$/.test(part)) {
      out.push(Buffer.from(part));
      continue;
    }
    if (!hostile) {
      out.push(Buffer.from(percentEncode(part === '{job_id}' && w.jobIds.length > 0 && rng.chance(0.8) ? rng.pick(w.jobIds) : rng.pick(['a', 'thing', 'x1']))));
      continue;
    }
    const style = rng.pick(['encoded', 'encoded', 'raw', 'bytes', 'double']);
    const value = hostileString(rng, w, rng.pick(['traversal', 'traversal', 'injection', 'unicode', 'plain', 'long']));
    if (style === 'bytes') out.push(Buffer.concat([Buffer.from('x'), rng.pick(invalidUtf8), Buffer.from(rng.pick(['', '%ff', '%c0%af', '%00']))]));
    else if (style === 'raw') out.push(Buffer.from(value.replace(/[\s?#]/g, (c) => percentEncode(c))));
    else if (style === 'double') out.push(Buffer.from(percentEncode(percentEncode(value))));
    else out.push(Buffer.from(percentEncode(value)));
  }
  return Buffer.concat(out);
}

function queryValue(rng: Prng, w: FuzzWorld): string {
  const value = rng.chance(0.2) ? rng.pick(['-1', '0', '1e9', '99999999999999999999', '1.5', 'NaN', ' 5', '0x10', '']) : hostileString(rng, w);
  return rng.chance(0.8) ? percentEncode(value) : value.replace(/[\s#&]/g, (c) => percentEncode(c));
}

function hostileHeaders(rng: Prng, w: FuzzWorld): [string, string | Buffer][] {
  return rng.pick<() => [string, string | Buffer][]>([
    () => [['X-Request-Id', hostileString(rng, w, rng.pick(['unicode', 'injection', 'long']))]],
    () => [['X-Request-Id', Buffer.concat([Buffer.from('id-'), rng.pick(invalidUtf8)])]],
    () => [['Accept', rng.pick(['text/event-stream', 'application/graphql-response+json', '*/*;q=abc', 'text/html', '\u00ff', ''])]],
    () => [['Accept-Encoding', rng.pick(['gzip, br, zstd', 'identity;q=0', '*;q=0'])]],
    () => [['Origin', rng.pick(['http://evil.example', 'null', 'file://', '\u00ff'])]],
    () => [['X-Forwarded-For', '127.0.0.1, ::1'], ['X-Forwarded-Host', 'evil.example'], ['X-Original-URL', '/graphql']],
    () => [['Cookie', `a=${'b'.repeat(rng.pick([10, 4000]))}`]],
    () => [['Range', 'bytes=0-1,-1,5-']],
    () => [['If-None-Match', '*'], ['If-Modified-Since', 'not a date']],
    () => Array.from({ length: rng.int(50, 120) }, (_, i) => [`X-Many-${i}`, 'v'] as [string, string]),
    () => [['X-Long', 'x'.repeat(rng.pick([8000, 17_000, 70_000]))]],
    () => [['Expect', '100-continue']],
    () => [['Content-Type', `application/json; charset=${rng.pick(['latin1', 'utf-7', 'x'])}`]],
  ])();
}

function malformedBody(rng: Prng, good: Buffer): Buffer {
  const text = good.toString('utf8');
  return rng.pick<() => Buffer>([
    () => Buffer.from(text.slice(0, rng.int(0, Math.max(0, text.length - 1)))),
    () => Buffer.from(`${text}${rng.pick(['}', ']', ',', 'garbage', '\u0000', '{}'])}`),
    () => Buffer.concat([Buffer.from(text.slice(0, Math.floor(text.length / 2))), rng.pick(invalidUtf8), Buffer.from(text.slice(Math.floor(text.length / 2)))]),
    () => Buffer.from(rng.pick(['{', '}', '[', 'nul', 'NaN', 'Infinity', '-', '"', '"\\u', '"\\ud800"', "{'a':1}", '{a:1}', '{"a":1,}', '{"a":1 /* c */}', '{"a":01}', '{"a":1e99999}', '{"a":"\u0000"}', '\u0000', ' ', '\r\n', '\ufeff{}'])),
    () => Buffer.from(`{"modelName":"a","modelName":"b","modelName":${rng.pick(['1', 'null', '{}'])}}`),
    () => Buffer.from(Array.from({ length: rng.int(1, 200) }, () => String.fromCharCode(rng.int(0, 255))).join(''), 'latin1'),
  ])();
}

function pathShape(rng: Prng, target: string, w: FuzzWorld): string | Buffer {
  return rng.pick<() => string | Buffer>([
    () => `${target}/`,
    () => `/${target}`,
    () => `${target}//`,
    () => target.replace(/\//g, '/./'),
    () => `/x/..${target}`,
    () => `${target}/..`,
    () => `${target}/%2e%2e/%2e%2e/${percentEncode(w.victimFromData)}`,
    () => target.replace(/\//g, '%2f'),
    () => target.toUpperCase(),
    () => `${target};jsessionid=1`,
    () => `${target}%00`,
    () => `${target}%`,
    () => `${target}#frag`,
    () => `${target}/${percentEncode(hostileString(rng, w))}`,
    () => `http://127.0.0.1${target}`,
    () => `http://evil.example${target}`,
    () => `*`,
    () => target.replace(/^\//, ''),
    () => Buffer.concat([Buffer.from(target), rng.pick(invalidUtf8)]),
    () => target.replace(/\//g, '\\'),
    () => `${'/..'.repeat(20)}${target}`,
    () => `/${'a/'.repeat(2000)}`,
  ])();
}

/** Requests that are malformed at the HTTP layer itself, aimed at any path. */
export function httpCase(rng: Prng, paths: readonly string[], w: FuzzWorld): FuzzCase {
  const target = rng.pick(paths).replace(/\{[^}]+\}/g, 'x');
  const auth = authHeader(w);
  const request: RawRequest = rng.pick<() => RawRequest>([
    () => ({ method: 'GET', target, headers: [auth], httpVersion: '1.0' }),
    () => ({ method: 'GET', target: `http://127.0.0.1:1${target}`, headers: [auth] }),
    () => ({ method: 'GET', target, headers: [auth, ['Bad Header', 'x']] }),
    () => ({ method: 'GET', target, headers: [auth, ['X-Null', Buffer.from([0x61, 0x00, 0x62])]] }),
    () => ({ method: 'GET', target, headers: [auth, ['X-Cr', Buffer.from('a\rb')]] }),
    () => ({ method: 'GET', target, headers: [auth, ['X-Fold', Buffer.from('a\r\n b')]] }),
    () => ({ method: 'POST', target, headers: [auth, ['Content-Length', '5'], ['Content-Length', '7']], body: Buffer.from('{"a":1}'), noContentLength: true }),
    () => ({ method: 'POST', target, headers: [auth, ['Content-Length', '-1']], body: Buffer.from('{}'), noContentLength: true }),
    () => ({ method: 'POST', target, headers: [auth, ['Content-Length', 'abc']], body: Buffer.from('{}'), noContentLength: true }),
    () => ({ method: 'POST', target, headers: [auth, ['Transfer-Encoding', 'chunked'], ['Content-Length', '3']], body: Buffer.from('0\r\n\r\n'), noContentLength: true }),
    () => ({ method: 'POST', target, headers: [auth, ['Transfer-Encoding', 'chunked']], body: Buffer.from('zz\r\n{}\r\n0\r\n\r\n'), noContentLength: true }),
    () => ({ method: 'POST', target, headers: [auth, ['Transfer-Encoding', 'gzip, chunked']], body: Buffer.from('2\r\n{}\r\n0\r\n\r\n'), noContentLength: true }),
    () => ({ method: 'GET', target: `${target} HTTP/1.1\r\nX-Smuggled: 1`, headers: [auth] }),
    () => ({ method: 'GET', target: Buffer.concat([Buffer.from(target), Buffer.from([0x00])]), headers: [auth] }),
    () => ({ method: 'GET', target: `${target}\t`, headers: [auth] }),
    () => ({ method: 'GET', target, headers: [auth, ['Host', '']] }),
    () => ({ method: 'GET', target, headers: [auth, ['Host', 'a'], ['Host', 'b']] }),
    () => ({ method: 'GET', target, headers: [auth, ['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', rng.pick(['', 'short', '\u00ff'])], ['Sec-WebSocket-Version', rng.pick(['13', '8', 'x'])]] }),
    () => ({ method: 'GET', target, headers: [auth, ['Upgrade', 'h2c'], ['Connection', 'Upgrade, HTTP2-Settings'], ['HTTP2-Settings', 'AAMAAABkAARAAAAAAAIAAAAA']] }),
    () => ({ method: 'PRI', target: '*', headers: [], httpVersion: '1.1' }),
    () => ({ method: 'GET', target, headers: [auth], httpVersion: '1.1', body: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), noContentLength: true }),
  ])();
  return { family: 'http', kind: 'http-malformed', profile: 'http', request };
}
