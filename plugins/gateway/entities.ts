import { defineEntity, p, type PluginMigration } from '../../core/plugin-api.ts';

/** An application: a public path prefix with retries, timeouts and a per-consumer rate limit. */
export const GatewayAppEntity = defineEntity({
  name: 'GatewayApp',
  tableName: 'gateway_apps',
  properties: {
    name: p.string().primary(),
    /** The public path prefix, `/gateway/<name>` unless set. */
    prefix: p.string().unique(),
    /** The seed's `host`: informational (routes name their backends). */
    host: p.string().default(''),
    retries: p.integer(),
    timeoutMs: p.integer(),
    rateLimit: p.integer(),
    rateWindowSeconds: p.integer(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

/** A route: one published model endpoint (`services.endpoints`) of an app. */
export const GatewayRouteEntity = defineEntity({
  name: 'GatewayRoute',
  tableName: 'gateway_routes',
  properties: {
    /** `<app>/<model name>`. */
    id: p.string().primary(),
    app: p.string().index(),
    /** The seed's `model_name`: how the route is named in `/api/apps/{app}/routes/{model}`. */
    modelName: p.string(),
    endpointId: p.string(),
    protocol: p.string(),
    createdAt: p.datetime(),
  },
});

/** A consumer: a user authorised to call an app. */
export const GatewayConsumerEntity = defineEntity({
  name: 'GatewayConsumer',
  tableName: 'gateway_consumers',
  properties: {
    /** `<app>/<user>`. */
    id: p.string().primary(),
    app: p.string().index(),
    userName: p.string().index(),
    createdAt: p.datetime(),
  },
});

export type GatewayAppRow = InstanceType<typeof GatewayAppEntity.class>;
export type GatewayRouteRow = InstanceType<typeof GatewayRouteEntity.class>;
export type GatewayConsumerRow = InstanceType<typeof GatewayConsumerEntity.class>;

export const gatewayMigrations: PluginMigration[] = [
  {
    name: '0001-gateway',
    up({ dialect, sql }) {
      if (dialect === 'postgresql') {
        sql(`create table "gateway_apps" ("name" varchar(255) not null, "prefix" varchar(255) not null, "host" varchar(255) not null default '', "retries" int not null, "timeout_ms" int not null, "rate_limit" int not null, "rate_window_seconds" int not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("name"))`);
        sql(`alter table "gateway_apps" add constraint "gateway_apps_prefix_unique" unique ("prefix")`);
        sql(`create table "gateway_routes" ("id" varchar(255) not null, "app" varchar(255) not null, "model_name" varchar(255) not null, "endpoint_id" varchar(255) not null, "protocol" varchar(255) not null, "created_at" timestamptz not null, primary key ("id"))`);
        sql(`create index "gateway_routes_app_index" on "gateway_routes" ("app")`);
        sql(`create table "gateway_consumers" ("id" varchar(255) not null, "app" varchar(255) not null, "user_name" varchar(255) not null, "created_at" timestamptz not null, primary key ("id"))`);
        sql(`create index "gateway_consumers_app_index" on "gateway_consumers" ("app")`);
        sql(`create index "gateway_consumers_user_name_index" on "gateway_consumers" ("user_name")`);
      } else {
        sql("create table `gateway_apps` (`name` text not null primary key, `prefix` text not null, `host` text not null default '', `retries` integer not null, `timeout_ms` integer not null, `rate_limit` integer not null, `rate_window_seconds` integer not null, `created_at` datetime not null, `updated_at` datetime not null)");
        sql('create unique index `gateway_apps_prefix_unique` on `gateway_apps` (`prefix`)');
        sql('create table `gateway_routes` (`id` text not null primary key, `app` text not null, `model_name` text not null, `endpoint_id` text not null, `protocol` text not null, `created_at` datetime not null)');
        sql('create index `gateway_routes_app_index` on `gateway_routes` (`app`)');
        sql('create table `gateway_consumers` (`id` text not null primary key, `app` text not null, `user_name` text not null, `created_at` datetime not null)');
        sql('create index `gateway_consumers_app_index` on `gateway_consumers` (`app`)');
        sql('create index `gateway_consumers_user_name_index` on `gateway_consumers` (`user_name`)');
      }
    },
  },
];
