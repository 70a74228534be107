import { defineEntity, p, type PluginMigration } from '../../core/plugin-api.ts';
import type { LlamaInstanceOptions } from './types.ts';

/** Facts read from the model file when the instance was created or updated. */
export interface ModelInfo {
  sizeBytes: number;
  /** `<arch>.block_count` from the GGUF header, or null when absent. */
  blockCount: number | null;
}

/**
 * One llama-server instance per name: what to run, what the caller asked for (`desired`), and the
 * current run's job, pid and process start time, so a restarted daemon can re-adopt it.
 */
export const LlamaInstanceEntity = defineEntity({
  name: 'LlamaInstance',
  tableName: 'llama_instances',
  properties: {
    name: p.string().primary(),
    desired: p.string(),
    status: p.string(),
    message: p.text().nullable(),
    modelPath: p.text(),
    modelInfo: p.json<ModelInfo>(),
    vramEstimateMib: p.integer(),
    host: p.string(),
    port: p.integer(),
    options: p.json<LlamaInstanceOptions>(),
    jobId: p.string().nullable(),
    pid: p.integer().nullable(),
    pidStartTicks: p.string().nullable(),
    gpus: p.json<number[]>(),
    leaseId: p.string().nullable(),
    restartCount: p.integer(),
    nextRestartAt: p.datetime().nullable(),
    exitCode: p.integer().nullable(),
    lastRequestAt: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    startedAt: p.datetime().nullable(),
    readyAt: p.datetime().nullable(),
    stoppedAt: p.datetime().nullable(),
  },
});

export type LlamaInstanceRow = InstanceType<typeof LlamaInstanceEntity.class>;

export const llamaMigrations: PluginMigration[] = [
  {
    name: '0001-llama-instances',
    up({ dialect, sql }) {
      if (dialect === 'postgresql') {
        sql(
          'create table "llama_instances" ("name" varchar(255) not null, "desired" varchar(255) not null, "status" varchar(255) not null, "message" text null, "model_path" text not null, "model_info" jsonb not null, "vram_estimate_mib" int not null, "host" varchar(255) not null, "port" int not null, "options" jsonb not null, "job_id" varchar(255) null, "pid" int null, "pid_start_ticks" varchar(255) null, "gpus" jsonb not null, "lease_id" varchar(255) null, "restart_count" int not null, "next_restart_at" timestamptz null, "exit_code" int null, "last_request_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "started_at" timestamptz null, "ready_at" timestamptz null, "stopped_at" timestamptz null, primary key ("name"))',
        );
      } else {
        sql(
          'create table `llama_instances` (`name` text not null primary key, `desired` text not null, `status` text not null, `message` text null, `model_path` text not null, `model_info` json not null, `vram_estimate_mib` integer not null, `host` text not null, `port` integer not null, `options` json not null, `job_id` text null, `pid` integer null, `pid_start_ticks` text null, `gpus` json not null, `lease_id` text null, `restart_count` integer not null, `next_restart_at` datetime null, `exit_code` integer null, `last_request_at` datetime null, `created_at` datetime not null, `updated_at` datetime not null, `started_at` datetime null, `ready_at` datetime null, `stopped_at` datetime null)',
        );
      }
    },
  },
];
