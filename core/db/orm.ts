import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { EntitySchema, MigrationObject } from '@mikro-orm/core';
import { Migration, Migrator } from '@mikro-orm/migrations';
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

/**
 * Opens SQLite (default, in the data dir, WAL) or PostgreSQL (`database.url`), then applies
 * pending migrations.
 */
export async function openDatabase({ url, dataDir, entities, migrations, logger, debug = false }: OpenDatabaseOptions): Promise<Database> {
  const dialect: SqlDialect = url && /^postgres(ql)?:/.test(url) ? 'postgresql' : 'sqlite';
  const migrationsList = migrations.map(({ owner, migration }) => toMikroMigration(owner, migration, dialect));
  const common = {
    entities,
    extensions: [Migrator],
    migrations: { migrationsList, tableName: 'bp_migrations', snapshot: false, transactional: true, allOrNothing: true, silent: true },
    debug,
    allowGlobalContext: false,
    logger: (message: string) => logger.debug(message),
  };
  let orm: import('@mikro-orm/core').MikroORM;
  if (dialect === 'postgresql') {
    const { MikroORM } = await import('@mikro-orm/postgresql');
    orm = await MikroORM.init({ ...common, clientUrl: url });
  } else {
    const file = url?.startsWith('sqlite:') ? url.slice('sqlite:'.length) : path.join(dataDir, 'backplane.db');
    if (file !== ':memory:') await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    const { MikroORM } = await import('@mikro-orm/sqlite');
    const sqliteOrm = await MikroORM.init({ ...common, dbName: file });
    const native = await sqliteOrm.em.getConnection().getNativeClient();
    // WAL lets readers (GET /jobs) proceed while a job update is being written.
    native.pragma('journal_mode = WAL');
    native.pragma('synchronous = NORMAL');
    native.pragma('busy_timeout = 5000');
    native.pragma('foreign_keys = ON');
    orm = sqliteOrm as unknown as import('@mikro-orm/core').MikroORM;
  }
  const migrator = (orm as unknown as { migrator: { up(): Promise<{ name: string }[]> } }).migrator;
  const applied = await migrator.up();
  if (applied.length > 0) logger.info('database migrated', { dialect, applied: applied.map((m) => m.name) });
  return { dialect, orm, close: () => orm.close(true) };
}

function toMikroMigration(owner: string, migration: PluginMigration, dialect: SqlDialect): MigrationObject {
  const name = `${owner}/${migration.name}`;
  class PluginSqlMigration extends Migration {
    override name = name;
    override up(): void {
      migration.up({ dialect, sql: (statement) => this.addSql(statement) });
    }
  }
  return { name, class: PluginSqlMigration };
}
