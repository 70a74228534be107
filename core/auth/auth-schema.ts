import { z } from 'zod';
import type { Builder } from '../graphql/builder.ts';
import type { IssuedTokens } from './token-service.ts';

/** Fields anyone may call, without a key or token: the ways to get one. */
const publicField = { backplaneScope: 'public' } as const;

/** Logins and refreshes (`login`, `refreshToken`) and the caller's own identity (`viewer`). */
export function addAuthSchema(builder: Builder): void {
  const AuthTokens = builder.objectRef<IssuedTokens>('AuthTokens').implement({
    description: 'A JWT access token and the refresh token that renews it. See docs/security.md.',
    fields: (t) => ({
      accessToken: t.exposeString('accessToken', { description: 'Send as `Authorization: Bearer <token>` wherever an API key is accepted.' }),
      tokenType: t.string({ resolve: () => 'Bearer' }),
      expiresAt: t.field({ type: 'DateTime', resolve: (tokens) => tokens.expiresAt }),
      expiresIn: t.int({ description: 'Seconds until the access token expires.', resolve: (tokens) => Math.max(0, Math.round((tokens.expiresAt.getTime() - Date.now()) / 1000)) }),
      refreshToken: t.exposeString('refreshToken', { description: 'Single use: `refreshToken(token)` spends it for a new pair.' }),
      refreshExpiresAt: t.field({ type: 'DateTime', resolve: (tokens) => tokens.refreshExpiresAt }),
      principal: t.exposeString('principal', { description: 'The user name.' }),
      scopes: t.exposeStringList('scopes'),
    }),
  });

  builder.mutationField('login', (t) =>
    t.field({
      type: AuthTokens,
      description: 'Logs a user of `auth.users` in. UNAUTHENTICATED for a wrong name or password. Needs no key.',
      extensions: publicField,
      args: {
        name: t.arg.string({ required: true, validate: { schema: z.string().min(1, 'expected a user name').max(64, 'expected at most 64 characters') } }),
        password: t.arg.string({ required: true, validate: { schema: z.string().min(1, 'expected a password').max(1024, 'expected at most 1024 characters') } }),
      },
      resolve: (_root, { name, password }, ctx) => ctx.core.auth.login(name, password),
    }),
  );

  builder.mutationField('refreshToken', (t) =>
    t.field({
      type: AuthTokens,
      description: 'Spends a refresh token for a new access and refresh token. UNAUTHENTICATED when it is unknown, spent, revoked or expired. Needs no key.',
      extensions: publicField,
      args: { token: t.arg.string({ required: true, validate: { schema: z.string().min(1, 'expected a refresh token').max(4096, 'expected at most 4096 characters') } }) },
      resolve: (_root, { token }, ctx) => ctx.core.auth.refresh(token),
    }),
  );

  const Viewer = builder.objectRef<{ principal: string; scopes: ReadonlySet<string> }>('Viewer').implement({
    description: 'The caller: an API key, a logged-in user, or `anonymous` when no keys or users are configured.',
    fields: (t) => ({
      principal: t.exposeString('principal'),
      scopes: t.stringList({ resolve: (viewer) => [...viewer.scopes] }),
    }),
  });

  builder.queryField('viewer', (t) => t.field({ type: Viewer, description: 'Who the request authenticated as, and its scopes.', resolve: (_root, _args, ctx) => ctx.auth }));
}
