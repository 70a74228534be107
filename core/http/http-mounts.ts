import { Agent as HttpAgent, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ConflictError, InputError } from '../errors.ts';
import { agentOptions, proxyRequest } from '../rest/proxy.ts';
import { RateLimiter, rateLimitHeaders } from '../rest/rate-limit.ts';
import type { ForwardOutcome, HttpMountHandler, HttpMountService } from '../../packages/plugin-api/src/services/http-mounts.ts';

interface Mount {
  owner: string;
  prefix: string;
  /** `<prefix>/`. */
  under: string;
  segments: string[];
  handler: HttpMountHandler;
}

/** The plugins' HTTP mounts on the main listener, and their `/metrics` contributions. */
export interface HttpMounts {
  forPlugin(pluginId: string): HttpMountService;
  releasePlugin(pluginId: string): void;
  /** The mount serving `path`, longest prefix first. */
  match(path: string): { handler: HttpMountHandler; prefix: string } | undefined;
  /** Every plugin's extra `/metrics` text. */
  renderMetrics(): string;
}

/**
 * Path templates the daemon serves itself on the main listener, as route templates: `{x}` is
 * one segment, `{x*}` the rest. A mount may not take a path any of them (or a REST route of the
 * main listener, `restTemplates`) could match.
 */
export function createHttpMounts({ coreTemplates, restTemplates }: { coreTemplates: () => readonly string[]; restTemplates: () => readonly string[] }): HttpMounts {
  const mounts: Mount[] = [];
  const metrics = new Map<string, Set<() => string>>();
  const limiter = new RateLimiter();

  const isClaimed = (prefix: string) => {
    const segments = splitPath(prefix);
    if ([...coreTemplates(), ...restTemplates()].some((template) => templateReaches(splitPath(template), segments))) return true;
    return mounts.some((m) => isSegmentPrefix(m.segments, segments) || isSegmentPrefix(segments, m.segments));
  };

  return {
    forPlugin: (owner) => ({
      mount(prefix, handler) {
        if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix)) throw new InputError(`A mount prefix is an absolute path of plain segments, not '${prefix.slice(0, 100)}'`);
        if (isClaimed(prefix)) throw new ConflictError(`The path prefix '${prefix}' collides with a path the daemon already serves`, { details: { prefix } });
        const mount: Mount = { owner, prefix, under: `${prefix}/`, segments: splitPath(prefix), handler };
        mounts.push(mount);
        mounts.sort((a, b) => b.segments.length - a.segments.length);
        return () => {
          const index = mounts.indexOf(mount);
          if (index >= 0) mounts.splice(index, 1);
        };
      },
      isClaimed,
      forward: (options) => forward(options),
      rateLimit(key, bucket) {
        const decision = limiter.take(`${owner}\0${key}`, bucket);
        return { allowed: decision.allowed, retryAfter: decision.retryAfter, headers: rateLimitHeaders(decision) };
      },
      addMetrics(render) {
        let set = metrics.get(owner);
        if (!set) metrics.set(owner, (set = new Set()));
        set.add(render);
        return () => void set.delete(render);
      },
    }),
    releasePlugin(owner) {
      for (let i = mounts.length - 1; i >= 0; i--) if (mounts[i].owner === owner) mounts.splice(i, 1);
      metrics.delete(owner);
    },
    match(path) {
      if (mounts.length === 0) return undefined;
      // A path without empty segments is matched on its text (no split per request).
      if (!path.includes('//')) {
        for (const m of mounts) if (path === m.prefix || path.startsWith(m.under)) return { handler: m.handler, prefix: m.prefix };
        return undefined;
      }
      const segments = splitPath(path);
      const found = mounts.find((m) => isSegmentPrefix(m.segments, segments));
      return found && { handler: found.handler, prefix: found.prefix };
    },
    renderMetrics() {
      let text = '';
      for (const set of metrics.values()) for (const render of set) text += render();
      return text;
    },
  };
}

/**
 * Mounted handlers (a gateway in front of many clients) keep more idle upstream connections than
 * the REST proxy's 8, so 32 concurrent callers do not open a new connection per request.
 */
let mountAgents: { http: HttpAgent; https: HttpsAgent } | undefined;

function forward({ req, res, url, body, headers, timeoutMs, discardStatuses }: Parameters<HttpMountService['forward']>[0]): Promise<ForwardOutcome> {
  let failure: ForwardOutcome | undefined;
  if (!mountAgents) {
    const options = { ...agentOptions, maxFreeSockets: 64 };
    mountAgents = { http: new HttpAgent(options), https: new HttpsAgent(options) };
  }
  return proxyRequest({
    req,
    res,
    target: { url, headers, timeoutMs },
    body,
    discardStatuses,
    agents: mountAgents,
    onError: ({ status, message, reached, upstreamStatus }) => {
      failure = { ok: false, status, message, reached: reached ?? false, ...(upstreamStatus === undefined ? {} : { upstreamStatus }) };
    },
  }).then(() => failure ?? { ok: true, status: (res as ServerResponse).statusCode });
}

function splitPath(path: string): string[] {
  return path.split('/').filter(Boolean);
}

function isSegmentPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => segment === path[i]);
}

/** Whether a route template matches some path equal to or under `prefix`. */
function templateReaches(template: readonly string[], prefix: readonly string[]): boolean {
  for (let i = 0; i < prefix.length; i++) {
    const t = template[i];
    if (t === undefined) return false;
    if (/^\{[^}]+\*\}$/.test(t)) return true;
    if (!/^\{[^}]+\}$/.test(t) && t !== prefix[i]) return false;
  }
  return true;
}

