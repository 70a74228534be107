import type { ApiScope } from '../config/schema.ts';

/** A user who may log in for JWTs. */
export interface AuthUser {
  name: string;
  /** `scrypt$N$r$p$salt$hash`; never leaves the auth store. */
  passwordHash: string;
  scopes: readonly ApiScope[];
}

/**
 * Where users come from. Lookups are synchronous so every request can check that a token's
 * user still exists; a store backed by a table (users added at run time) keeps them in memory.
 */
export interface UserStore {
  get(name: string): AuthUser | undefined;
  /** How many users there are; none means logins are off. */
  readonly size: number;
  /** Any one user (for cost parameters that make a miss as slow as a hit). */
  first(): AuthUser | undefined;
}
