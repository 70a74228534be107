import { defineEntity, p } from '@mikro-orm/core';
import type { PluginMigration } from '../db/migration.ts';

/** One job row. `seq` is the id's nanosecond stamp: unique, and the newest-first sort key. */
export const JobEntity = defineEntity({
  name: 'BpJob',
  tableName: 'bp_jobs',
  properties: {
    id: p.string().primary(),
    seq: p.bigint('string').index(),
    kind: p.string(),
    plugin: p.string(),
    status: p.string().index(),
    command: p.text(),
    args: p.json<string[]>(),
    env: p.json<Record<string, string>>().nullable(),
    cwd: p.text().nullable(),
    /** The job's process (and process group leader). */
    pid: p.integer().nullable(),
    /** Start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22): pids get reused. */
    pidStartTicks: p.string().nullable(),
    supervisorPid: p.integer().nullable(),
    supervisorStartTicks: p.string().nullable(),
    exitCode: p.integer().nullable(),
    signal: p.string().nullable(),
    logPath: p.text(),
    createdAt: p.datetime(),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    cancelRequestedAt: p.datetime().nullable(),
    parentId: p.string().nullable().index(),
    labels: p.json<Record<string, string>>(),
    /** Whether the job has a process (false for group jobs such as pipelines). */
    hasProcess: p.boolean(),
    /** A service job (model server): it does not count against jobs.maxConcurrent. */
    longRunning: p.boolean().default(false),
    progress: p.double().nullable(),
    progressMessage: p.text().nullable(),
    failureReason: p.text().nullable(),
    gpus: p.json<number[]>(),
    gpuRequest: p.json<{ count?: number; indices?: number[] }>().nullable(),
    /**
     * The launch attempt of a `queued` job whose supervisor is being started: recorded before the
     * spawn, so a restart can tell an attempt that claimed the job from one that never ran.
     */
    launchToken: p.string().nullable(),
  },
});

export type JobRow = InstanceType<typeof JobEntity.class>;

export const jobMigrations: PluginMigration[] = [
  {
    name: '0001-jobs',
    up({ dialect, sql }) {
      if (dialect === 'postgresql') {
        sql(`create table "bp_jobs" ("id" varchar(255) not null, "seq" bigint not null, "kind" varchar(255) not null, "plugin" varchar(255) not null, "status" varchar(255) not null, "command" text not null, "args" jsonb not null, "env" jsonb null, "cwd" text null, "pid" int null, "pid_start_ticks" varchar(255) null, "supervisor_pid" int null, "supervisor_start_ticks" varchar(255) null, "exit_code" int null, "signal" varchar(255) null, "log_path" text not null, "created_at" timestamptz not null, "started_at" timestamptz null, "finished_at" timestamptz null, "cancel_requested_at" timestamptz null, "parent_id" varchar(255) null, "labels" jsonb not null, "has_process" boolean not null, "progress" double precision null, "progress_message" text null, "failure_reason" text null, "gpus" jsonb not null, "gpu_request" jsonb null, primary key ("id"))`);
        sql(`create index "bp_jobs_seq_index" on "bp_jobs" ("seq")`);
        sql(`create index "bp_jobs_status_index" on "bp_jobs" ("status")`);
        sql(`create index "bp_jobs_parent_id_index" on "bp_jobs" ("parent_id")`);
      } else {
        sql('create table `bp_jobs` (`id` text not null primary key, `seq` bigint not null, `kind` text not null, `plugin` text not null, `status` text not null, `command` text not null, `args` json not null, `env` json null, `cwd` text null, `pid` integer null, `pid_start_ticks` text null, `supervisor_pid` integer null, `supervisor_start_ticks` text null, `exit_code` integer null, `signal` text null, `log_path` text not null, `created_at` datetime not null, `started_at` datetime null, `finished_at` datetime null, `cancel_requested_at` datetime null, `parent_id` text null, `labels` json not null, `has_process` integer not null, `progress` double null, `progress_message` text null, `failure_reason` text null, `gpus` json not null, `gpu_request` json null)');
        sql('create index `bp_jobs_seq_index` on `bp_jobs` (`seq`)');
        sql('create index `bp_jobs_status_index` on `bp_jobs` (`status`)');
        sql('create index `bp_jobs_parent_id_index` on `bp_jobs` (`parent_id`)');
      }
    },
  },
  {
    name: '0003-job-long-running',
    up({ dialect, sql }) {
      sql(dialect === 'postgresql' ? 'alter table "bp_jobs" add column "long_running" boolean not null default false' : 'alter table `bp_jobs` add column `long_running` integer not null default false');
    },
  },
  {
    name: '0004-job-launch-token',
    up({ dialect, sql }) {
      sql(dialect === 'postgresql' ? 'alter table "bp_jobs" add column "launch_token" varchar(255) null' : 'alter table `bp_jobs` add column `launch_token` text null');
    },
  },
];
