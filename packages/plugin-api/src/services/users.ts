import type { ApiScope } from '../scopes.ts';

/** A user's role: `admin`, `operate` and `read` hold that scope; `consume` only calls gateway apps. */
export type UserRole = 'admin' | 'operate' | 'read' | 'consume';

/** A user of the auth store as plugins see it: never a password or its hash. */
export interface DirectoryUser {
  name: string;
  role: UserRole;
  /** The scopes the role grants on backplane's own API (none for `consume`). */
  scopes: ApiScope[];
  tags: string;
  /** `config`: from `auth.users` (read-only); `table`: added at run time. */
  source: 'config' | 'table';
  createdAt: Date | null;
  updatedAt: Date | null;
}

/** The outcome of {@link UserDirectoryService.authenticate}. */
export type UserAuthentication =
  | { ok: true; user: DirectoryUser }
  /**
   * `missing`: no credential; `invalid`: not a live key or token of a user (counted against the
   * address); `limited`: the address failed too often, nothing was checked (`retryAfter` seconds).
   */
  | { ok: false; reason: 'missing' | 'invalid' | 'limited'; retryAfter?: number };

/**
 * The daemon's users (core's auth store), read-only, and the check of a user's credential. For
 * plugins that authorise callers by user, such as the gateway's consumers. Users are managed
 * through core's GraphQL (`createUser`, `createApiKey`, …).
 */
export interface UserDirectoryService {
  get(name: string): DirectoryUser | undefined;
  list(): DirectoryUser[];
  /** Called after any user or API key changes; returns an unsubscribe. */
  onChange(listener: () => void): () => void;
  /**
   * The user a credential stands for: one of the user's API keys (`bpk_…`, not revoked, not
   * expired) or a user's access token (JWT). Works whether or not the daemon's own API requires
   * keys. Failures count per source `address`; after `auth.failedAttempts.limit` of them in a
   * window the address is refused without a check. Keys are compared in constant time.
   */
  authenticate(credential: string | undefined, address: string): UserAuthentication;
}
