import type { EntityManager } from '@mikro-orm/core';
import type { SqlDialect } from '../migration.ts';

/**
 * Access to the daemon's database. There is no shared EntityManager: every request, scheduled
 * run or unit of work takes its own fork, so identity maps never leak between them.
 */
export interface DatabaseService {
  readonly dialect: SqlDialect;
  /** A fresh fork of the root EntityManager. */
  em(): EntityManager;
}
