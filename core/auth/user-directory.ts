import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { ApiScope } from '../config/schema.ts';
import { ConflictError, InputError, NotFoundError } from '../errors.ts';
import { hashPassword, type ScryptParams } from './password-hash.ts';
import { RefreshTokenEntity } from './refresh-token-entity.ts';
import { UserEntity, UserKeyEntity } from './user-entities.ts';
import { isUserRole, roleOfScopes, scopesOfRole, userRoles, type UserRole } from './user-roles.ts';
import type { AuthUser, UserStore } from './user-store.ts';

/** A user as anyone outside the auth store sees it: never a password or its hash. */
export interface PublicUser {
  name: string;
  role: UserRole;
  scopes: ApiScope[];
  tags: string;
  /** `config`: from `auth.users`, read-only here; `table`: added at run time. */
  source: 'config' | 'table';
  createdAt: Date | null;
  updatedAt: Date | null;
}

/** A user's API key, without its secret. */
export interface UserKeyRecord {
  id: string;
  user: string;
  label: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

interface StoredUser extends AuthUser {
  role: UserRole;
  tags: string;
  source: 'config' | 'table';
  createdAt: Date | null;
  updatedAt: Date | null;
}

interface CachedKey extends UserKeyRecord {
  secretHash: Buffer;
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const keyPattern = /^bpk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/**
 * The auth store's users: those of `auth.users` (read-only) and those added at run time (the
 * `bp_users` table, held in memory so every request's lookup is synchronous), with their API
 * keys (`bp_user_keys`, secrets stored as SHA-256). It is the {@link UserStore} logins and JWTs
 * are checked against, so a deleted user's tokens stop working at once and a changed role caps
 * what a token grants.
 */
export class UserDirectory implements UserStore {
  readonly #users = new Map<string, StoredUser>();
  readonly #keys = new Map<string, CachedKey>();
  readonly #reserved: ReadonlySet<string>;
  readonly #hashParams: ScryptParams | undefined;
  readonly #now: () => number;
  readonly #listeners = new Set<() => void>();
  #fork: (() => EntityManager) | undefined;

  constructor({ configUsers, keyNames, hashParams, now = Date.now }: { configUsers: readonly AuthUser[]; keyNames: readonly string[]; hashParams?: ScryptParams; now?: () => number }) {
    for (const user of configUsers) {
      this.#users.set(user.name, { ...user, role: roleOfScopes(user.scopes), tags: '', source: 'config', createdAt: null, updatedAt: null });
    }
    this.#reserved = new Set(['anonymous', ...keyNames]);
    this.#hashParams = hashParams;
    this.#now = now;
  }

  /** Reads the table (daemon start, once the database is open). */
  async load(fork: () => EntityManager): Promise<void> {
    this.#fork = fork;
    const em = fork();
    for (const row of await em.find(UserEntity, {})) {
      if (this.#users.has(row.name) || !isUserRole(row.role)) continue; // a config user of the same name wins
      this.#users.set(row.name, { name: row.name, passwordHash: row.passwordHash, role: row.role, scopes: scopesOfRole(row.role), tags: row.tags, source: 'table', createdAt: row.createdAt, updatedAt: row.updatedAt });
    }
    for (const row of await em.find(UserKeyEntity, { revokedAt: null })) {
      this.#keys.set(row.id, { id: row.id, user: row.userName, label: row.label, createdAt: row.createdAt, expiresAt: row.expiresAt ?? null, revokedAt: null, secretHash: Buffer.from(row.secretHash, 'hex') });
    }
  }

  get(name: string): AuthUser | undefined {
    return this.#users.get(name);
  }

  get size(): number {
    return this.#users.size;
  }

  first(): AuthUser | undefined {
    return this.#users.values().next().value;
  }

  /** Every user, config users first. */
  list(): PublicUser[] {
    return [...this.#users.values()].map(toPublic);
  }

  find(name: string): PublicUser | undefined {
    const user = this.#users.get(name);
    return user ? toPublic(user) : undefined;
  }

  /** Called after any user or key changes; returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async create({ name, password, role, tags = '' }: { name: string; password: string; role: string; tags?: string }): Promise<PublicUser> {
    assertName(name);
    const checkedRole = assertRole(role);
    if (this.#users.has(name) || this.#reserved.has(name)) throw new ConflictError(`A user or API key named '${name}' already exists`, { details: { name } });
    const now = new Date(this.#now());
    const passwordHash = await hashPassword(assertPassword(password), this.#hashParams);
    // Checked again after the (slow) hash: two creations of one name race here.
    if (this.#users.has(name)) throw new ConflictError(`A user or API key named '${name}' already exists`, { details: { name } });
    const user: StoredUser = { name, passwordHash, role: checkedRole, scopes: scopesOfRole(checkedRole), tags, source: 'table', createdAt: now, updatedAt: now };
    this.#users.set(name, user);
    try {
      await this.#em().insert(UserEntity, { name, passwordHash, role: checkedRole, tags, createdAt: now, updatedAt: now });
    } catch (error) {
      this.#users.delete(name);
      throw error;
    }
    this.#changed();
    return toPublic(user);
  }

  async update(name: string, changes: { password?: string | null; role?: string | null; tags?: string | null }): Promise<PublicUser> {
    const user = this.#tableUser(name);
    const role = changes.role == null ? user.role : assertRole(changes.role);
    const passwordHash = changes.password == null ? user.passwordHash : await hashPassword(assertPassword(changes.password), this.#hashParams);
    const tags = changes.tags ?? user.tags;
    const updatedAt = new Date(this.#now());
    await this.#em().nativeUpdate(UserEntity, { name }, { role, passwordHash, tags, updatedAt });
    const updated: StoredUser = { ...user, role, scopes: scopesOfRole(role), passwordHash, tags, updatedAt };
    this.#users.set(name, updated);
    // A new password ends the sessions the old one opened.
    if (changes.password != null) await this.#em().nativeUpdate(RefreshTokenEntity, { userName: name, revokedAt: null }, { revokedAt: updatedAt, revokedReason: 'password' });
    this.#changed();
    return toPublic(updated);
  }

  /** Deletes a user with its keys and refresh tokens; its access tokens stop working at once. */
  async delete(name: string): Promise<void> {
    this.#tableUser(name);
    const em = this.#em();
    await em.nativeDelete(UserKeyEntity, { userName: name });
    await em.nativeDelete(UserEntity, { name });
    await em.nativeUpdate(RefreshTokenEntity, { userName: name, revokedAt: null }, { revokedAt: new Date(this.#now()), revokedReason: 'deleted' });
    this.#users.delete(name);
    for (const [id, key] of this.#keys) if (key.user === name) this.#keys.delete(id);
    this.#changed();
  }

  /** Creates an API key for a user; `key` is the only time the secret is seen. */
  async createKey(userName: string, { label = '', expiresAt = null }: { label?: string; expiresAt?: Date | null }): Promise<{ key: string; record: UserKeyRecord }> {
    if (!this.#users.has(userName)) throw new NotFoundError(`No user named '${userName}'`, { details: { user: userName } });
    if (expiresAt && expiresAt.getTime() <= this.#now()) throw new InputError('expiresAt must lie in the future');
    const id = randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 12);
    const secret = randomBytes(32).toString('base64url');
    const secretHash = createHash('sha256').update(secret).digest();
    const createdAt = new Date(this.#now());
    await this.#em().insert(UserKeyEntity, { id, userName, label, secretHash: secretHash.toString('hex'), createdAt, expiresAt, revokedAt: null });
    const record: UserKeyRecord = { id, user: userName, label, createdAt, expiresAt, revokedAt: null };
    this.#keys.set(id, { ...record, secretHash });
    this.#changed();
    return { key: `bpk_${id}_${secret}`, record };
  }

  /** A user's keys that are not revoked (expired ones included, flagged by `expiresAt`). */
  listKeys(userName: string): UserKeyRecord[] {
    return [...this.#keys.values()].filter((k) => k.user === userName).map(({ secretHash: _secret, ...record }) => record);
  }

  async revokeKey(id: string): Promise<UserKeyRecord> {
    const key = this.#keys.get(id);
    if (!key) throw new NotFoundError(`No API key '${id}'`, { details: { id } });
    const revokedAt = new Date(this.#now());
    await this.#em().nativeUpdate(UserKeyEntity, { id }, { revokedAt });
    this.#keys.delete(id);
    this.#changed();
    const { secretHash: _secret, ...record } = key;
    return { ...record, revokedAt };
  }

  /**
   * The user a `bpk_…` key belongs to, or undefined for a malformed, unknown, revoked or expired
   * key. Found by its id, then the secret's digest compared in constant time.
   */
  resolveKey(key: string): PublicUser | undefined {
    const match = keyPattern.exec(key);
    if (!match) return undefined;
    const found = this.#keys.get(match[1]);
    // The one-shot digest: no Hash object per request (every gateway call checks a key).
    const candidate = hash('sha256', match[2], 'buffer');
    // Compared even for an unknown id, so a hit and a miss take the same time.
    const equal = timingSafeEqual(candidate, found?.secretHash ?? candidate) && found !== undefined;
    if (!equal || (found.expiresAt && found.expiresAt.getTime() <= this.#now())) return undefined;
    const user = this.#users.get(found.user);
    return user ? toPublic(user) : undefined;
  }

  #tableUser(name: string): StoredUser {
    const user = this.#users.get(name);
    if (!user) throw new NotFoundError(`No user named '${name}'`, { details: { user: name } });
    if (user.source === 'config') throw new ConflictError(`User '${name}' is defined in the config file (auth.users); change it there`, { details: { user: name } });
    return user;
  }

  #em(): EntityManager {
    if (!this.#fork) throw new Error('the user directory is not loaded yet');
    return this.#fork();
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

function toPublic({ name, role, scopes, tags, source, createdAt, updatedAt }: StoredUser): PublicUser {
  return { name, role, scopes: [...scopes], tags, source, createdAt, updatedAt };
}

function assertName(name: string): void {
  if (!namePattern.test(name)) throw new InputError('A user name is 1 to 64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit', { details: { field: 'name' } });
}

function assertRole(role: string): UserRole {
  if (!isUserRole(role)) throw new InputError(`Unknown role '${role.slice(0, 32)}': expected one of ${userRoles.join(', ')}`, { details: { field: 'role', role: role.slice(0, 32) } });
  return role;
}

function assertPassword(password: string): string {
  if (password.length < 8 || password.length > 1024) throw new InputError('A password is 8 to 1024 characters', { details: { field: 'password' } });
  return password;
}
