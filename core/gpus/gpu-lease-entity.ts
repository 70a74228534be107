import { defineEntity, p } from '@mikro-orm/core';
import type { PluginMigration } from '../db/migration.ts';

/** A GPU lease, kept so a restarted daemon knows which GPUs its jobs and servers still hold. */
export const GpuLeaseEntity = defineEntity({
  name: 'BpGpuLease',
  tableName: 'bp_gpu_leases',
  properties: {
    id: p.string().primary(),
    indices: p.json<number[]>(),
    uuids: p.json<string[]>(),
    holderKind: p.string(),
    holderId: p.string().index(),
    /** The plugin that acquired it, or `core`. */
    owner: p.string().default('core'),
    createdAt: p.datetime(),
  },
});

export type GpuLeaseRow = InstanceType<typeof GpuLeaseEntity.class>;

export const gpuLeaseMigrations: PluginMigration[] = [
  {
    name: '0002-gpu-leases',
    up({ dialect, sql }) {
      if (dialect === 'postgresql') {
        sql(`create table "bp_gpu_leases" ("id" varchar(255) not null, "indices" jsonb not null, "uuids" jsonb not null, "holder_kind" varchar(255) not null, "holder_id" varchar(255) not null, "created_at" timestamptz not null, primary key ("id"))`);
        sql(`create index "bp_gpu_leases_holder_id_index" on "bp_gpu_leases" ("holder_id")`);
      } else {
        sql('create table `bp_gpu_leases` (`id` text not null primary key, `indices` json not null, `uuids` json not null, `holder_kind` text not null, `holder_id` text not null, `created_at` datetime not null)');
        sql('create index `bp_gpu_leases_holder_id_index` on `bp_gpu_leases` (`holder_id`)');
      }
    },
  },
  {
    // Leases stored before owners were recorded count as core's: only an admin ends them.
    name: '0005-gpu-lease-owner',
    up({ dialect, sql }) {
      if (dialect === 'postgresql') sql(`alter table "bp_gpu_leases" add column "owner" varchar(255) not null default 'core'`);
      else sql("alter table `bp_gpu_leases` add column `owner` text not null default 'core'");
    },
  },
];
