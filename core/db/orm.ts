import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { EntitySchema, MigrationObject } from '@mikro-orm/core';
import type { Logger } from '../services/logger-service.ts';
import type { PluginMigration, SqlDialect } from './migration.ts';

/** The ORM handle the daemon owns; plugins only see forked EntityManagers. */
export interface Database {
  dialect: SqlDialect;
  orm: import('@mikro-orm/core').MikroORM;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  url: string | undefined;
  dataDir: string;
  entities: EntitySchema[];
  /** In run order: core first, then plugins in dependency order. */
  migrations: { owner: string; migration: PluginMigration }[];
  logger: Logger;
  debug?: boolean;
}

const migrationsTable = 'bp_migrations';

/**
 * Opens SQLite (default, in the data dir, WAL) or PostgreSQL (`database.url`), then applies
 * pending migrations. Each driver is imported only when configured, and the migrator only when
 * the recorded migrations lack one of `migrations` (a cheap read of `bp_migrations` first).
 */
export async function openDatabase({ url, dataDir, entities, migrations, logger, debug = false }: OpenDatabaseOptions): Promise<Database> {
  const dialect: SqlDialect = url && /^postgres(ql)?:/.test(url) ? 'postgresql' : 'sqlite';
  // The constructor, not `MikroORM.init`: init imports every installed ORM extension (the
  // migrator among them) whether or not it is used.
  const common = {
    entities,
    debug,
    allowGlobalContext: false,
    logger: (message: string) => logger.debug(message),
  };
  let orm: import('@mikro-orm/core').MikroORM;
  if (dialect === 'postgresql') {
    const { MikroORM } = await import('@mikro-orm/postgresql');
    orm = new MikroORM({ ...common, clientUrl: url });
  } else {
    const file = url?.startsWith('sqlite:') ? url.slice('sqlite:'.length) : path.join(dataDir, 'backplane.db');
    if (file !== ':memory:') await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    const { MikroORM } = await import('@mikro-orm/sqlite');
    const sqliteOrm = new MikroORM({ ...common, dbName: file });
    const native = await sqliteOrm.em.getConnection().getNativeClient();
    // WAL lets readers (GET /jobs) proceed while a job update is being written.
    native.pragma('journal_mode = WAL');
    native.pragma('synchronous = NORMAL');
    native.pragma('busy_timeout = 5000');
    native.pragma('foreign_keys = ON');
    orm = sqliteOrm as unknown as import('@mikro-orm/core').MikroORM;
  }
  try {
    if (await hasPendingMigrations(orm, migrations)) await migrate(orm, migrations, dialect, logger);
  } catch (error) {
    await orm.close(true);
    throw error;
  }
  return { dialect, orm, close: () => orm.close(true) };
}

/** Whether a migration is not recorded yet; true as well when there is no table to read (a new database). */
async function hasPendingMigrations(orm: import('@mikro-orm/core').MikroORM, migrations: OpenDatabaseOptions['migrations']): Promise<boolean> {
  if (migrations.length === 0) return false;
  let recorded: { name: string }[];
  try {
    recorded = await orm.em.getConnection().execute<{ name: string }[]>(`select "name" from "${migrationsTable}"`);
  } catch {
    return true; // no table yet; anything else the migrator reports itself
  }
  const done = new Set(recorded.map((row) => row.name));
  return migrations.some(({ owner, migration }) => !done.has(migrationName(owner, migration)));
}

async function migrate(orm: import('@mikro-orm/core').MikroORM, migrations: OpenDatabaseOptions['migrations'], dialect: SqlDialect, logger: Logger): Promise<void> {
  const { Migration, Migrator } = await import('@mikro-orm/migrations');
  const migrationsList = migrations.map(({ owner, migration }) => toMikroMigration(Migration, owner, migration, dialect));
  // The migrator reads its options when it is created.
  orm.config.set('migrations', { ...orm.config.get('migrations'), migrationsList, tableName: migrationsTable, snapshot: false, transactional: true, allOrNothing: true, silent: true });
  const applied = await new Migrator(orm.em as never).up();
  if (applied.length > 0) logger.info('database migrated', { dialect, applied: applied.map((m) => m.name) });
}

function migrationName(owner: string, migration: PluginMigration): string {
  return `${owner}/${migration.name}`;
}

function toMikroMigration(Migration: typeof import('@mikro-orm/migrations').Migration, owner: string, migration: PluginMigration, dialect: SqlDialect): MigrationObject {
  const name = migrationName(owner, migration);
  class PluginSqlMigration extends Migration {
    override name = name;
    override up(): void {
      migration.up({ dialect, sql: (statement) => this.addSql(statement) });
    }
  }
  return { name, class: PluginSqlMigration };
}
