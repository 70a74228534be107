import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { apiScopes, type ApiScope } from '../config/schema.ts';
import { AuthenticationError, BackplaneError, UnavailableError } from '../errors.ts';
import type { FailedAttempts } from './failed-attempts.ts';
import { requestAddress } from './request-address.ts';
import type { AuthInfo } from '../graphql/context.ts';
import type { Logger } from '../services/logger-service.ts';
import { signJwt, verifyJwt } from './jwt.ts';
import { hashPassword, parsePasswordHash, verifyPassword } from './password-hash.ts';
import { RefreshTokenEntity } from './refresh-token-entity.ts';
import type { UserStore } from './user-store.ts';

/** What a login or a refresh hands out. */
export interface IssuedTokens {
  /** An HS256 JWT, sent as `Authorization: Bearer <token>` wherever an API key is accepted. */
  accessToken: string;
  expiresAt: Date;
  /** Opaque and single-use: spend it with `refreshToken(token)` for a new pair. */
  refreshToken: string;
  refreshExpiresAt: Date;
  principal: string;
  scopes: ApiScope[];
}

export interface TokenServiceOptions {
  users: UserStore;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** A new login revokes the user's earlier refresh tokens. */
  revokeOnLogin: boolean;
  logger: Logger;
  /** Failed logins per client address (the HTTP request's): refused while over the limit. */
  failures?: FailedAttempts;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

const issuer = 'backplane';
const invalidLogin = 'Invalid user name or password';
const invalidRefresh = 'Invalid or expired refresh token: log in again';

/**
 * Logins and refreshes for the users of the auth store: HS256 access tokens (stateless, checked
 * on every request) and rotating refresh tokens (a table). See docs/security.md.
 */
export class TokenService {
  readonly #options: TokenServiceOptions;
  readonly #now: () => number;
  #secret: Buffer | undefined;
  #fork: (() => EntityManager) | undefined;
  /** Verified when the user is unknown, so a wrong name costs what a wrong password does. */
  #decoyHash: Promise<string> | undefined;

  constructor(options: TokenServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Whether any user may log in. */
  get enabled(): boolean {
    return this.#options.users.size > 0;
  }

  /** Called once the database is open and the secret loaded (daemon start). */
  start({ secret, fork }: { secret: Buffer; fork: () => EntityManager }): void {
    this.#secret = secret;
    this.#fork = fork;
  }

  async login(name: string, password: string): Promise<IssuedTokens> {
    const { secret, fork } = this.#ready();
    const address = requestAddress.getStore();
    const retryAfter = address === undefined ? 0 : (this.#options.failures?.blockedFor(address) ?? 0);
    if (retryAfter > 0) throw new BackplaneError('RATE_LIMITED', `Too many failed logins from this address; retry in ${retryAfter} s`, { details: { retryAfter } });
    const user = this.#options.users.get(name);
    const matches = await verifyPassword(password, user?.passwordHash ?? (await this.#decoy()));
    if (!user || !matches) {
      if (address !== undefined) this.#options.failures?.fail(address);
      this.#options.logger.info('login refused', { user: name.slice(0, 64) });
      throw new AuthenticationError(invalidLogin);
    }
    const now = new Date(this.#now());
    const em = fork();
    if (this.#options.revokeOnLogin) {
      await em.nativeUpdate(RefreshTokenEntity, { userName: user.name, revokedAt: null }, { revokedAt: now, revokedReason: 'login' });
    }
    await em.nativeDelete(RefreshTokenEntity, { expiresAt: { $lt: now } });
    return this.#issue(em, secret, user.name, [...user.scopes], randomUUID(), now);
  }

  /** Spends a refresh token for a new pair; a spent one that comes back revokes its family. */
  async refresh(token: string): Promise<IssuedTokens> {
    const { secret, fork } = this.#ready();
    const em = fork();
    const row = await em.findOne(RefreshTokenEntity, { tokenHash: digest(token) });
    const now = new Date(this.#now());
    if (!row) throw new AuthenticationError(invalidRefresh);
    if (row.revokedAt) {
      if (row.revokedReason === 'rotated') {
        await em.nativeUpdate(RefreshTokenEntity, { family: row.family, revokedAt: null }, { revokedAt: now, revokedReason: 'reuse' });
        this.#options.logger.warn('a spent refresh token came back: its login is revoked', { user: row.userName, family: row.family });
      }
      throw new AuthenticationError(invalidRefresh);
    }
    const user = this.#options.users.get(row.userName);
    if (row.expiresAt.getTime() <= now.getTime() || !user) throw new AuthenticationError(invalidRefresh);
    // Only one of two concurrent refreshes with the same token wins the update.
    const spent = await em.nativeUpdate(RefreshTokenEntity, { id: row.id, revokedAt: null }, { revokedAt: now, revokedReason: 'rotated' });
    if (spent !== 1) throw new AuthenticationError(invalidRefresh);
    return this.#issue(em, secret, user.name, [...user.scopes], row.family, now);
  }

  /**
   * The caller an access token stands for, or undefined for a token that is malformed, signed
   * otherwise or with another algorithm, expired, or whose user is gone. Synchronous: it runs
   * for every request.
   */
  verifyAccessToken(token: string): { auth: AuthInfo; expiresAt: number } | undefined {
    if (!this.#secret) return undefined;
    const result = verifyJwt(token, this.#secret, { nowSeconds: this.#now() / 1000 });
    if (!result.ok) {
      this.#options.logger.debug('access token refused', { reason: result.reason });
      return undefined;
    }
    const { claims } = result;
    if (claims.iss !== issuer || claims.typ !== 'access' || typeof claims.sub !== 'string' || typeof claims.scope !== 'string') return undefined;
    const user = this.#options.users.get(claims.sub);
    if (!user) return undefined;
    // A token never grants more than the user holds now.
    const scopes = claims.scope.split(' ').filter((s): s is ApiScope => (apiScopes as readonly string[]).includes(s) && user.scopes.includes(s as ApiScope));
    return { auth: { principal: user.name, scopes: new Set(scopes) }, expiresAt: (claims.exp as number) * 1000 };
  }

  async #issue(em: EntityManager, secret: Buffer, name: string, scopes: ApiScope[], family: string, now: Date): Promise<IssuedTokens> {
    const { accessTokenTtlSeconds, refreshTokenTtlSeconds } = this.#options;
    const iat = Math.floor(now.getTime() / 1000);
    const accessToken = signJwt({ iss: issuer, sub: name, scope: scopes.join(' '), typ: 'access', iat, exp: iat + accessTokenTtlSeconds, jti: randomUUID() }, secret);
    const refreshToken = `bprt_${randomBytes(32).toString('base64url')}`;
    const refreshExpiresAt = new Date(now.getTime() + refreshTokenTtlSeconds * 1000);
    await em.insert(RefreshTokenEntity, { id: randomUUID(), tokenHash: digest(refreshToken), userName: name, family, createdAt: now, expiresAt: refreshExpiresAt, revokedAt: null, revokedReason: null });
    return { accessToken, expiresAt: new Date((iat + accessTokenTtlSeconds) * 1000), refreshToken, refreshExpiresAt, principal: name, scopes };
  }

  /** A hash with the first user's cost parameters, so an unknown name takes as long as a known one. */
  #decoy(): Promise<string> {
    if (!this.#decoyHash) {
      const first = this.#options.users.first();
      this.#decoyHash = hashPassword(randomUUID(), first ? parsePasswordHash(first.passwordHash) : undefined);
    }
    return this.#decoyHash;
  }

  #ready(): { secret: Buffer; fork: () => EntityManager } {
    if (!this.enabled) throw new UnavailableError('No users are configured (auth.users), so there is nothing to log in to; see docs/security.md');
    if (!this.#secret || !this.#fork) throw new UnavailableError('The daemon is still starting');
    return { secret: this.#secret, fork: this.#fork };
  }
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
