import { z } from 'zod';
import { NotFoundError } from '../errors.ts';
import type { Builder } from '../graphql/builder.ts';
import { requireScope } from '../../packages/plugin-api/src/scopes.ts';
import type { PublicUser, UserKeyRecord } from './user-directory.ts';
import { userRoles } from './user-roles.ts';

const admin = requireScope('admin');
const userName = z.string().min(1, 'expected a user name').max(64, 'expected at most 64 characters');
const password = z.string().max(1024, 'expected at most 1024 characters');
const tags = z.string().max(1024, 'expected at most 1024 characters');
const role = z.string().max(64, 'expected at most 64 characters');

/**
 * The users of the auth store and their API keys: `users`, `user`, `createUser`, `updateUser`,
 * `deleteUser`, `createApiKey`, `revokeApiKey` (all `admin`). No field ever returns a password
 * or a hash; a key's secret is returned once, by `createApiKey`. See docs/security.md.
 */
export function addUserSchema(builder: Builder): void {
  const ApiKey = builder.objectRef<UserKeyRecord>('ApiKey').implement({
    description: "A user's API key. Its secret was shown once, when it was created; only its digest is stored.",
    fields: (t) => ({
      id: t.exposeID('id', { description: 'The key is `bpk_<id>_<secret>`.' }),
      user: t.exposeString('user'),
      label: t.exposeString('label'),
      createdAt: t.field({ type: 'DateTime', resolve: (k) => k.createdAt }),
      expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.expiresAt }),
      revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.revokedAt }),
      expired: t.boolean({ resolve: (k) => k.expiresAt !== null && k.expiresAt.getTime() <= Date.now() }),
    }),
  });

  const User = builder.objectRef<PublicUser>('User').implement({
    description: `A user who logs in (JWT) or calls with an API key. role: ${userRoles.join(', ')} (consume: gateway apps only). Never carries a password.`,
    fields: (t) => ({
      name: t.exposeString('name'),
      role: t.exposeString('role'),
      scopes: t.exposeStringList('scopes', { description: "The scopes the role grants on backplane's own API." }),
      tags: t.exposeString('tags'),
      source: t.exposeString('source', { description: '`config` (auth.users, read-only here) or `table` (added at run time).' }),
      createdAt: t.field({ type: 'DateTime', nullable: true, resolve: (u) => u.createdAt }),
      updatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (u) => u.updatedAt }),
      apiKeys: t.field({ type: [ApiKey], resolve: (u, _args, ctx) => ctx.core.users.listKeys(u.name) }),
    }),
  });

  const CreatedApiKey = builder.objectRef<{ key: string; record: UserKeyRecord }>('CreatedApiKey').implement({
    fields: (t) => ({
      key: t.exposeString('key', { description: 'The secret: shown this once, never again. Send as `Authorization: Bearer <key>`.' }),
      apiKey: t.field({ type: ApiKey, resolve: (created) => created.record }),
    }),
  });

  builder.queryField('users', (t) => t.field({ type: [User], extensions: admin, description: 'Every user, config users first.', resolve: (_root, _args, ctx) => ctx.core.users.list() }));

  builder.queryField('user', (t) =>
    t.field({
      type: User,
      extensions: admin,
      description: 'One user; NOT_FOUND when there is none of that name.',
      args: { name: t.arg.string({ required: true, validate: { schema: userName } }) },
      resolve: (_root, { name }, ctx) => {
        const user = ctx.core.users.find(name);
        if (!user) throw new NotFoundError(`No user named '${name}'`, { details: { user: name } });
        return user;
      },
    }),
  );

  builder.mutationField('createUser', (t) =>
    t.field({
      type: User,
      extensions: admin,
      description: 'Adds a user. CONFLICT for a taken name (users and API keys share names), BAD_USER_INPUT for an unknown role.',
      args: {
        name: t.arg.string({ required: true, validate: { schema: userName } }),
        password: t.arg.string({ required: true, validate: { schema: password } }),
        role: t.arg.string({ required: true, validate: { schema: role } }),
        tags: t.arg.string({ validate: { schema: tags } }),
      },
      resolve: (_root, args, ctx) => ctx.core.users.create({ ...args, tags: args.tags ?? '' }),
    }),
  );

  builder.mutationField('updateUser', (t) =>
    t.field({
      type: User,
      extensions: admin,
      description: "Changes a run-time user's password (which ends its refresh tokens), role or tags. CONFLICT for a config user.",
      args: {
        name: t.arg.string({ required: true, validate: { schema: userName } }),
        password: t.arg.string({ validate: { schema: password } }),
        role: t.arg.string({ validate: { schema: role } }),
        tags: t.arg.string({ validate: { schema: tags } }),
      },
      resolve: (_root, { name, ...changes }, ctx) => ctx.core.users.update(name, changes),
    }),
  );

  builder.mutationField('deleteUser', (t) =>
    t.boolean({
      extensions: admin,
      description: 'Deletes a run-time user, its API keys and sessions; its access tokens stop working at once.',
      args: { name: t.arg.string({ required: true, validate: { schema: userName } }) },
      resolve: async (_root, { name }, ctx) => {
        await ctx.core.users.delete(name);
        return true;
      },
    }),
  );

  builder.mutationField('createApiKey', (t) =>
    t.field({
      type: CreatedApiKey,
      extensions: admin,
      description: 'Creates an API key for a user: the secret is in `key`, this once. Optional expiry (`expiresAt`, or `expiresInSeconds` from now).',
      args: {
        user: t.arg.string({ required: true, validate: { schema: userName } }),
        label: t.arg.string({ validate: { schema: z.string().max(128, 'expected at most 128 characters') } }),
        expiresAt: t.arg({ type: 'DateTime' }),
        expiresInSeconds: t.arg.int({ validate: { schema: z.number().int().positive('expected a positive number of seconds').max(10 * 365 * 86400, 'expected at most ten years') } }),
      },
      resolve: (_root, { user, label, expiresAt, expiresInSeconds }, ctx) =>
        ctx.core.users.createKey(user, { label: label ?? '', expiresAt: expiresAt ?? (expiresInSeconds ? new Date(Date.now() + expiresInSeconds * 1000) : null) }),
    }),
  );

  builder.mutationField('revokeApiKey', (t) =>
    t.field({
      type: ApiKey,
      extensions: admin,
      description: 'Revokes a user API key at once. NOT_FOUND for an unknown or already revoked key.',
      args: { id: t.arg.id({ required: true, validate: { schema: z.string().min(1).max(64) } }) },
      resolve: (_root, { id }, ctx) => ctx.core.users.revokeKey(String(id)),
    }),
  );
}
