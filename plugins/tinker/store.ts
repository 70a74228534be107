import type { DatabaseService } from '../../core/plugin-api.ts';
import type { EntitySchema } from '@mikro-orm/core';

/**
 * Write-through of one row keyed by `key`: update, or insert when absent. The plugin keeps its
 * state in memory and stores every change, so a restarted daemon knows its sessions, models,
 * samplers and checkpoints.
 */
export async function upsertRow(db: DatabaseService, entity: EntitySchema<any>, key: string, row: Record<string, unknown>): Promise<void> {
  const em = db.em();
  const where = { [key]: row[key] };
  if ((await em.nativeUpdate(entity, where, row)) === 0) await em.insert(entity, row);
}

export async function deleteRow(db: DatabaseService, entity: EntitySchema<any>, key: string, value: string): Promise<void> {
  await db.em().nativeDelete(entity, { [key]: value });
}

export async function loadRows<T>(db: DatabaseService, entity: EntitySchema<any>): Promise<T[]> {
  return (await db.em().find(entity, {}, { disableIdentityMap: true })) as T[];
}
