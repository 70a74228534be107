export type { SqlDialect, MigrationContext, PluginMigration } from '../../packages/plugin-api/src/migration.ts';
