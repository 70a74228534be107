import { defineEntity, p } from '@mikro-orm/core';
import type { PluginMigration } from '../db/migration.ts';

/** A user added at run time (`createUser`, `POST /api/users`); config users stay in the config file. */
export const UserEntity = defineEntity({
  name: 'BpUser',
  tableName: 'bp_users',
  properties: {
    name: p.string().primary(),
    /** `scrypt$N$r$p$salt$hash`; never leaves the auth store. */
    passwordHash: p.string(),
    /** `admin`, `operate`, `read` or `consume` (core/auth/user-roles.ts). */
    role: p.string(),
    tags: p.string().default(''),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

/**
 * A user's API key: `bpk_<id>_<secret>`, shown once; the row keeps the SHA-256 of the secret,
 * looked up by id and compared in constant time.
 */
export const UserKeyEntity = defineEntity({
  name: 'BpUserKey',
  tableName: 'bp_user_keys',
  properties: {
    id: p.string().primary(),
    userName: p.string().index(),
    label: p.string().default(''),
    /** Hex SHA-256 of the secret part. */
    secretHash: p.string(),
    createdAt: p.datetime(),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});

export type UserRow = InstanceType<typeof UserEntity.class>;
export type UserKeyRow = InstanceType<typeof UserKeyEntity.class>;

export const userMigrations: PluginMigration[] = [
  {
    name: '0007-auth-users',
    up({ dialect, sql }) {
      if (dialect === 'postgresql') {
        sql(`create table "bp_users" ("name" varchar(255) not null, "password_hash" varchar(255) not null, "role" varchar(255) not null, "tags" varchar(255) not null default '', "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("name"))`);
        sql(`create table "bp_user_keys" ("id" varchar(255) not null, "user_name" varchar(255) not null, "label" varchar(255) not null default '', "secret_hash" varchar(255) not null, "created_at" timestamptz not null, "expires_at" timestamptz null, "revoked_at" timestamptz null, primary key ("id"))`);
        sql(`create index "bp_user_keys_user_name_index" on "bp_user_keys" ("user_name")`);
      } else {
        sql("create table `bp_users` (`name` text not null primary key, `password_hash` text not null, `role` text not null, `tags` text not null default '', `created_at` datetime not null, `updated_at` datetime not null)");
        sql("create table `bp_user_keys` (`id` text not null primary key, `user_name` text not null, `label` text not null default '', `secret_hash` text not null, `created_at` datetime not null, `expires_at` datetime null, `revoked_at` datetime null)");
        sql('create index `bp_user_keys_user_name_index` on `bp_user_keys` (`user_name`)');
      }
    },
  },
];
