/** The SQL dialects backplane runs on. */
export type SqlDialect = 'sqlite' | 'postgresql';

/** What a migration's `up` receives. */
export interface MigrationContext {
  /** The database the statements run on, for the few statements that differ. */
  dialect: SqlDialect;
  /** Queue one SQL statement; all statements of a migration run in one transaction. */
  sql(statement: string): void;
}

/**
 * A versioned schema change owned by a plugin. Names are unique within the plugin and sort in
 * the order they must run (`0001-jobs`, `0002-job-labels`). Applied once, at start, and recorded
 * in the `bp_migrations` table as `<pluginId>/<name>`.
 */
export interface PluginMigration {
  /** Unique within the plugin; migrations run in name order. */
  name: string;
  /** Queues the migration's statements. */
  up(context: MigrationContext): void;
}
