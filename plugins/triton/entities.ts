import { defineEntity, p, type PluginMigration } from '../../core/plugin-api.ts';

/**
 * A registered Triton server. `id` is a stable string (`t1`, `t2`… unless the caller chose one):
 * other plugins (the gateway) keep it, so it never changes once given.
 */
export const TritonServerEntity = defineEntity({
  name: 'TritonServer',
  tableName: 'triton_servers',
  properties: {
    id: p.string().primary(),
    host: p.string(),
    httpPort: p.integer(),
    metricsPort: p.integer().nullable(),
    gpus: p.integer(),
    /** Real path of the server's local model repository (inside `repositoryRoots`), if backplane may write it. */
    repositoryPath: p.text().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

/**
 * A model backplane knows by name across the fleet (uploaded through it, or first seen in a
 * server's index). `id` is the Triton model name: Triton addresses models by name, and the same
 * name on two servers is the same model in the fleet view.
 */
export const TritonModelEntity = defineEntity({
  name: 'TritonModel',
  tableName: 'triton_models',
  properties: {
    id: p.string().primary(),
    /** The server whose repository it was uploaded into (null when only seen in an index). */
    serverId: p.string().nullable(),
    description: p.text().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

export type TritonServerRow = InstanceType<typeof TritonServerEntity.class>;
export type TritonModelRow = InstanceType<typeof TritonModelEntity.class>;

export const tritonMigrations: PluginMigration[] = [
  {
    name: '0001-triton-servers-models',
    up({ dialect, sql }) {
      if (dialect === 'postgresql') {
        sql('create table "triton_servers" ("id" varchar(255) not null, "host" varchar(255) not null, "http_port" int not null, "metrics_port" int null, "gpus" int not null, "repository_path" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"))');
        sql('create table "triton_models" ("id" varchar(255) not null, "server_id" varchar(255) null, "description" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"))');
      } else {
        sql('create table `triton_servers` (`id` text not null primary key, `host` text not null, `http_port` integer not null, `metrics_port` integer null, `gpus` integer not null, `repository_path` text null, `created_at` datetime not null, `updated_at` datetime not null)');
        sql('create table `triton_models` (`id` text not null primary key, `server_id` text null, `description` text null, `created_at` datetime not null, `updated_at` datetime not null)');
      }
    },
  },
];
