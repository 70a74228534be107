import { defineEntity, p, type PluginMigration } from '../../core/plugin-api.ts';
import type { GpuRequest } from './types.ts';

/**
 * One vLLM server per served name: what to run (so a restarted daemon can adopt its container,
 * or restart it), what was last seen, and where its log stream stopped.
 */
export const VllmServerEntity = defineEntity({
  name: 'VllmServer',
  tableName: 'vllm_servers',
  properties: {
    name: p.string().primary(),
    /** `running` or `stopped`: what the caller last asked for; reconcile converges on it. */
    desired: p.string(),
    status: p.string(),
    message: p.text().nullable(),
    modelPath: p.text(),
    port: p.integer(),
    host: p.string(),
    image: p.text(),
    args: p.json<string[]>(),
    gpuRequest: p.json<GpuRequest>().nullable(),
    gpus: p.json<number[]>(),
    jobId: p.string().nullable(),
    containerName: p.string(),
    containerId: p.string().nullable(),
    exitCode: p.integer().nullable(),
    labels: p.json<Record<string, string>>(),
    /** Timestamp of the last container log line copied into the job log (`podman logs --since`). */
    logCursor: p.string().nullable(),
    createdAt: p.datetime(),
    startedAt: p.datetime().nullable(),
    readyAt: p.datetime().nullable(),
    stoppedAt: p.datetime().nullable(),
    updatedAt: p.datetime(),
  },
});

export type VllmServerRow = InstanceType<typeof VllmServerEntity.class>;

export const vllmMigrations: PluginMigration[] = [
  {
    name: '0001-vllm-servers',
    up({ dialect, sql }) {
      if (dialect === 'postgresql') {
        sql(`create table "vllm_servers" ("name" varchar(255) not null, "desired" varchar(255) not null, "status" varchar(255) not null, "message" text null, "model_path" text not null, "port" int not null, "host" varchar(255) not null, "image" text not null, "args" jsonb not null, "gpu_request" jsonb null, "gpus" jsonb not null, "job_id" varchar(255) null, "container_name" varchar(255) not null, "container_id" varchar(255) null, "exit_code" int null, "labels" jsonb not null, "log_cursor" varchar(255) null, "created_at" timestamptz not null, "started_at" timestamptz null, "ready_at" timestamptz null, "stopped_at" timestamptz null, "updated_at" timestamptz not null, primary key ("name"))`);
      } else {
        sql('create table `vllm_servers` (`name` text not null primary key, `desired` text not null, `status` text not null, `message` text null, `model_path` text not null, `port` integer not null, `host` text not null, `image` text not null, `args` json not null, `gpu_request` json null, `gpus` json not null, `job_id` text null, `container_name` text not null, `container_id` text null, `exit_code` integer null, `labels` json not null, `log_cursor` text null, `created_at` datetime not null, `started_at` datetime null, `ready_at` datetime null, `stopped_at` datetime null, `updated_at` datetime not null)');
      }
    },
  },
];
