import type { EntitySchema } from '@mikro-orm/core';
import { RefreshTokenEntity, refreshTokenMigrations } from '../auth/refresh-token-entity.ts';
import { UserEntity, UserKeyEntity, userMigrations } from '../auth/user-entities.ts';
import { GpuLeaseEntity, gpuLeaseMigrations } from '../gpus/gpu-lease-entity.ts';
import { JobEntity, jobMigrations } from '../jobs/job-entity.ts';
import type { PluginDefinition } from '../plugin-api.ts';
import type { PluginMigration } from './migration.ts';

/** Core's own tables, then each plugin's, in boot order: what the database is opened with. */
export function collectTables(plugins: readonly PluginDefinition<any, any>[]): { entities: EntitySchema[]; migrations: { owner: string; migration: PluginMigration }[] } {
  const entities = [JobEntity, GpuLeaseEntity, RefreshTokenEntity, UserEntity, UserKeyEntity] as unknown as EntitySchema[];
  const migrations = [...jobMigrations, ...gpuLeaseMigrations, ...refreshTokenMigrations, ...userMigrations].map((migration) => ({ owner: 'core', migration }));
  for (const def of plugins) {
    entities.push(...(def.entities ?? []));
    for (const migration of def.migrations ?? []) migrations.push({ owner: def.id, migration });
  }
  return { entities, migrations };
}
