import { defineEntity, p } from '@mikro-orm/core';
import type { PluginMigration } from '../db/migration.ts';

/**
 * A refresh token, stored as the SHA-256 of its value. A login starts a `family`; each refresh
 * revokes the token it spent and issues the next one in the family, so a spent token that comes
 * back (stolen and replayed) revokes the whole family.
 */
export const RefreshTokenEntity = defineEntity({
  name: 'BpRefreshToken',
  tableName: 'bp_refresh_tokens',
  properties: {
    id: p.string().primary(),
    /** Hex SHA-256 of the token's value. */
    tokenHash: p.string().unique(),
    userName: p.string().index(),
    family: p.string().index(),
    createdAt: p.datetime(),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
    /** `rotated`, `login` (a newer login of the user), `reuse` (a spent token came back). */
    revokedReason: p.string().nullable(),
  },
});

export type RefreshTokenRow = InstanceType<typeof RefreshTokenEntity.class>;

export const refreshTokenMigrations: PluginMigration[] = [
  {
    name: '0006-auth-refresh-tokens',
    up({ dialect, sql }) {
      if (dialect === 'postgresql') {
        sql(`create table "bp_refresh_tokens" ("id" varchar(255) not null, "token_hash" varchar(255) not null, "user_name" varchar(255) not null, "family" varchar(255) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "revoked_at" timestamptz null, "revoked_reason" varchar(255) null, primary key ("id"))`);
        sql(`alter table "bp_refresh_tokens" add constraint "bp_refresh_tokens_token_hash_unique" unique ("token_hash")`);
        sql(`create index "bp_refresh_tokens_user_name_index" on "bp_refresh_tokens" ("user_name")`);
        sql(`create index "bp_refresh_tokens_family_index" on "bp_refresh_tokens" ("family")`);
      } else {
        sql('create table `bp_refresh_tokens` (`id` text not null primary key, `token_hash` text not null, `user_name` text not null, `family` text not null, `created_at` datetime not null, `expires_at` datetime not null, `revoked_at` datetime null, `revoked_reason` text null)');
        sql('create unique index `bp_refresh_tokens_token_hash_unique` on `bp_refresh_tokens` (`token_hash`)');
        sql('create index `bp_refresh_tokens_user_name_index` on `bp_refresh_tokens` (`user_name`)');
        sql('create index `bp_refresh_tokens_family_index` on `bp_refresh_tokens` (`family`)');
      }
    },
  },
];
