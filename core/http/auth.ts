import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { apiScopes, type ApiKeyConfig, type ApiScope } from '../config/schema.ts';
import { looksLikeJwt } from '../auth/jwt.ts';
import { ConfigError } from '../config/config-error.ts';
import type { AuthInfo } from '../graphql/context.ts';

/** Turns request headers into the caller's identity. */
export interface Authenticator {
  /** True when API keys are configured, so every request must carry one. */
  readonly required: boolean;
  /** undefined: keys are required and the request has none, or a wrong one. */
  authenticate(headers: IncomingHttpHeaders | Record<string, string | undefined>): AuthInfo | undefined;
  /** The same check for a bare key or access token (graphql-ws connection_init payloads). */
  authenticateKey(key: string | undefined): AuthInfo | undefined;
  /** When the credential behind `auth` stops being valid (a JWT's `exp`, ms); undefined: never. */
  expiresAt(auth: AuthInfo): number | undefined;
}

/** Checks access tokens (core/auth/token-service.ts). */
export interface AccessTokenVerifier {
  /** Whether users are configured, so requests must authenticate even without API keys. */
  readonly enabled: boolean;
  verifyAccessToken(token: string): { auth: AuthInfo; expiresAt: number } | undefined;
}

const everything: AuthInfo = { principal: 'anonymous', scopes: new Set<ApiScope>(apiScopes) };

/**
 * Keys are compared as SHA-256 digests in constant time; a bearer that matches no key and has a
 * JWT's shape is checked as an access token of a user. With neither keys nor users configured
 * every caller holds every scope; the daemon then only binds to loopback (see assertSafeBind).
 */
export function createAuthenticator(
  keys: readonly ApiKeyConfig[],
  { env = process.env, tokens, userKeys }: { env?: NodeJS.ProcessEnv; tokens?: AccessTokenVerifier; userKeys?: { resolveKey(key: string): { name: string; scopes: readonly ApiScope[] } | undefined } } = {},
): Authenticator {
  const resolved = keys.map((k, i) => {
    const secret = k.key ?? (k.keyEnv ? env[k.keyEnv] : undefined) ?? (k.keyFile ? readKeyFile(k.keyFile, i) : undefined);
    if (!secret || secret.length < 16) throw new ConfigError([`auth.keys[${i}]: key '${k.name}' resolves to no key of at least 16 characters`]);
    return { digest: digest(secret), info: { principal: k.name, scopes: new Set(k.scopes) } satisfies AuthInfo };
  });

  const required = resolved.length > 0 || tokens?.enabled === true;
  const expiries = new WeakMap<AuthInfo, number>();

  const authenticateKey = (key: string | undefined): AuthInfo | undefined => {
    if (!required) return everything;
    if (!key) return undefined;
    const candidate = digest(key);
    let found: AuthInfo | undefined;
    for (const k of resolved) if (timingSafeEqual(k.digest, candidate)) found = k.info;
    if (found) return found;
    // A user's own API key (`bpk_…`, core/auth/user-directory.ts).
    const user = userKeys?.resolveKey(key);
    if (user) return { principal: user.name, scopes: new Set(user.scopes) };
    if (!tokens?.enabled || !looksLikeJwt(key)) return undefined;
    const verified = tokens.verifyAccessToken(key);
    if (!verified) return undefined;
    expiries.set(verified.auth, verified.expiresAt);
    return verified.auth;
  };

  return {
    required,
    authenticateKey,
    expiresAt: (auth) => expiries.get(auth),
    authenticate(headers) {
      const authorization = headers.authorization;
      const bearer = typeof authorization === 'string' && /^Bearer\s+/i.test(authorization) ? authorization.replace(/^Bearer\s+/i, '').trim() : undefined;
      const apiKey = headers['x-api-key'];
      return authenticateKey(bearer ?? (typeof apiKey === 'string' ? apiKey.trim() : undefined));
    },
  };
}

/** What a caller on an `auth: 'none'` listener may do: what the legacy client did, never admin. */
const openListenerCaller: AuthInfo = { principal: 'anonymous', scopes: new Set<ApiScope>(['operate']) };

/**
 * For a REST profile served with `auth: 'none'` on its own loopback listener (config check
 * refuses any other host): every caller holds `operate` (which includes `read`), without a key.
 */
export function createOpenAuthenticator(): Authenticator {
  return { required: false, authenticate: () => openListenerCaller, authenticateKey: () => openListenerCaller, expiresAt: () => undefined };
}

function readKeyFile(file: string, index: number): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new ConfigError([`auth.keys[${index}].keyFile: cannot read ${file}`]);
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export { isLoopback } from './loopback.ts';
