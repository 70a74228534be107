import { createHmac, timingSafeEqual } from 'node:crypto';

/** The claims backplane puts in an access token. */
export interface AccessClaims {
  iss: string;
  /** The user's name. */
  sub: string;
  /** Space-separated scopes, as in OAuth 2. */
  scope: string;
  typ: 'access';
  iat: number;
  exp: number;
  jti: string;
}

/** Why a token was refused (logged at debug, never shown with the token). */
export type JwtRejection = 'malformed' | 'algorithm' | 'signature' | 'expired' | 'not-yet-valid' | 'claims';

const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
const segment = /^[A-Za-z0-9_-]+$/;

/** Signs `claims` as a compact HS256 JWS. */
export function signJwt(claims: AccessClaims, secret: Buffer): string {
  const body = `${header}.${base64url(JSON.stringify(claims))}`;
  return `${body}.${hmac(body, secret).toString('base64url')}`;
}

/**
 * Verifies a compact JWS: HS256 only (`none`, other algorithms and any `crit` header are
 * refused before the signature is looked at), signature compared in constant time, then `exp`
 * against `nowSeconds` (no leeway) and `iat` (up to `skewSeconds` ahead, for hosts that share a
 * secret and disagree a little on the time).
 */
export function verifyJwt(token: string, secret: Buffer, { nowSeconds, skewSeconds = 60 }: { nowSeconds: number; skewSeconds?: number }): { ok: true; claims: Record<string, unknown> } | { ok: false; reason: JwtRejection } {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => segment.test(part))) return { ok: false, reason: 'malformed' };
  const [encodedHeader, encodedClaims, encodedSignature] = parts;
  const head = decodeJson(encodedHeader);
  if (!head) return { ok: false, reason: 'malformed' };
  if (head.alg !== 'HS256' || (head.typ !== undefined && head.typ !== 'JWT') || head.crit !== undefined) return { ok: false, reason: 'algorithm' };
  const expected = hmac(`${encodedHeader}.${encodedClaims}`, secret);
  const given = Buffer.from(encodedSignature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature' };
  const claims = decodeJson(encodedClaims);
  if (!claims || typeof claims.exp !== 'number' || typeof claims.iat !== 'number') return { ok: false, reason: 'claims' };
  if (claims.exp <= nowSeconds) return { ok: false, reason: 'expired' };
  if (claims.iat - skewSeconds > nowSeconds) return { ok: false, reason: 'not-yet-valid' };
  return { ok: true, claims };
}

/** Whether `value` has the shape of a compact JWS, so it is not mistaken for an API key. */
export function looksLikeJwt(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 3 && parts.every((part) => segment.test(part));
}

function hmac(data: string, secret: Buffer): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function decodeJson(encoded: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
