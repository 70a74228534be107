import { z } from 'zod';
import { parsePasswordHash } from '../auth/password-hash.ts';
import { isLoopback } from '../http/loopback.ts';
import { apiScopes } from '../../packages/plugin-api/src/scopes.ts';

export { apiScopes, type ApiScope } from '../../packages/plugin-api/src/scopes.ts';

/** The one source of core defaults. Plugin defaults live in each plugin's `configSchema`. */
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

const port = z.number({ error: 'expected integer port 0-65535' }).int('expected integer port 0-65535').min(0, 'expected integer port 0-65535').max(65535, 'expected integer port 0-65535');
const positiveInt = z.number({ error: 'expected positive integer' }).int('expected positive integer').positive('expected positive integer');
const nonNegativeInt = z.number({ error: 'expected non-negative integer' }).int('expected non-negative integer').min(0, 'expected non-negative integer');

const apiKeySchema = z
  .strictObject({
    name: z.string().min(1, 'expected a non-empty name'),
    /** The key itself; prefer `keyEnv` or `keyFile` so config files hold no secrets. */
    key: z.string().min(16, 'expected at least 16 characters').optional(),
    keyEnv: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    scopes: z.array(z.enum(apiScopes)).min(1, 'expected at least one scope'),
  })
  .refine((k) => [k.key, k.keyEnv, k.keyFile].filter((v) => v !== undefined).length === 1, {
    message: 'expected exactly one of key, keyEnv, keyFile',
  });

const userSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'expected a name of 1-64 letters, digits, . _ @ -'),
  /** `scrypt$N$r$p$salt$hash`, from `backplane auth hash-password`; never a clear password. */
  passwordHash: z.string().superRefine((value, ctx) => {
    try {
      parsePasswordHash(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  }),
  scopes: z.array(z.enum(apiScopes)).min(1, 'expected at least one scope'),
});

const jwtSchema = z
  .strictObject({
    /** A variable holding the HS256 secret (at least 32 characters); unset: `<dataDir>/auth/jwt-secret`, generated. */
    secretEnv: z.string().min(1).optional(),
    accessTokenTtlSeconds: positiveInt.default(900),
    refreshTokenTtlSeconds: positiveInt.default(7 * 24 * 3600),
    /** A new login revokes the user's earlier refresh tokens (one session per user). */
    revokeOnLogin: z.boolean().default(true),
  })
  .refine((jwt) => jwt.refreshTokenTtlSeconds >= jwt.accessTokenTtlSeconds, { message: 'refreshTokenTtlSeconds must not be shorter than accessTokenTtlSeconds' });

/** Keys and users share one namespace of principals; `anonymous` is the caller without either. */
function distinctPrincipals(auth: { keys: { name: string }[]; users: { name: string }[] }, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  for (const [kind, list] of [['keys', auth.keys], ['users', auth.users]] as const) {
    list.forEach(({ name }, i) => {
      if (name === 'anonymous') ctx.addIssue({ code: 'custom', path: [kind, i, 'name'], message: "'anonymous' is the name of callers without a key or token" });
      else if (seen.has(name)) ctx.addIssue({ code: 'custom', path: [kind, i, 'name'], message: `'${name}' is already the name of another key or user` });
      seen.add(name);
    });
  }
}

const rateLimitBucketSchema = z.strictObject({
  /** Requests a caller may make in a burst; the bucket refills at limit per window. */
  limit: positiveInt,
  windowSeconds: positiveInt.default(60),
});

/** Per-caller token buckets for a profile's routes, by the class each route declares. */
const rateLimitsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  default: rateLimitBucketSchema.optional(),
  heavy: rateLimitBucketSchema.optional(),
});

const listenSchema = z.strictObject({
  host: z.string().min(1),
  port,
});

const restProfileSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Mount prefix on the main listener (or on `listen`, when set). */
    prefix: z.string().regex(/^\/([A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*)?$/, 'expected a path like / or /api').optional(),
    /** A separate address for legacy clients that expect their own host:port. */
    listen: listenSchema.optional(),
    /**
     * `keys`: the daemon's API keys apply. `none`: served without keys, for a legacy client that
     * cannot send one (the InstructLab UI); allowed only on the profile's own loopback `listen`.
     */
    auth: z.enum(['keys', 'none']).default('keys'),
    /** Rate limits (429 and `X-RateLimit-*`); absent: the profile's own default, off for most. */
    rateLimits: rateLimitsSchema.optional(),
  })
  .superRefine((profile, ctx) => {
    if (profile.auth !== 'none') return;
    if (!profile.listen) {
      ctx.addIssue({ code: 'custom', path: ['auth'], message: "'none' needs the profile's own loopback listener: add listen: { host: 127.0.0.1, port: <port> } (the main listener keeps its API keys)" });
    } else if (!isLoopback(profile.listen.host)) {
      ctx.addIssue({ code: 'custom', path: ['listen', 'host'], message: `auth 'none' serves this profile without API keys, so it may only listen on loopback (127.0.0.1, ::1 or localhost), not '${profile.listen.host}'` });
    }
  });

/** Profiles that share a `listen` address share its requests, so they must agree on auth. */
function sameAuthPerListener(profiles: Record<string, z.output<typeof restProfileSchema>>, ctx: z.RefinementCtx): void {
  const byAddress = new Map<string, { id: string; auth: string }>();
  for (const [id, profile] of Object.entries(profiles)) {
    if (!profile.listen || !profile.enabled) continue;
    const address = `${profile.listen.host}:${profile.listen.port}`;
    const first = byAddress.get(address);
    if (!first) byAddress.set(address, { id, auth: profile.auth });
    else if (first.auth !== profile.auth) {
      ctx.addIssue({ code: 'custom', path: ['profiles', id, 'auth'], message: `'${profile.auth}' differs from '${first.auth}' of profile '${first.id}', which shares the listener ${address}` });
    }
  }
}

/** Per-plugin section: `enabled` and `module` belong to the kernel; the rest to the plugin. */
const pluginSectionSchema = z.looseObject({
  enabled: z.boolean().optional(),
  module: z.string().min(1).optional(),
});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(8080),
      bodyLimitBytes: positiveInt.default(1024 * 1024),
      cors: z
        .strictObject({
          origins: z.union([z.literal('*'), z.array(z.string().min(1))]).default([]),
        })
        .prefault({}),
      shutdownTimeoutMs: positiveInt.default(15_000),
      graphiql: z.boolean().default(true),
    })
    .prefault({}),
  /** The web dashboard (docs/dashboard.md): built into dashboard/dist, served on the main listener. */
  dashboard: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Where the page is served: `/` or a prefix such as `/ui/` (a trailing slash is added). */
      path: z
        .string()
        .regex(/^\/([A-Za-z0-9._~-]+\/?)*$/, 'expected a path like / or /ui/')
        .transform((p) => (p.endsWith('/') ? p : `${p}/`))
        .refine((p) => !/^\/(graphql|healthz|readyz|metrics|uploads|dashboard-plugins)\//.test(p), { message: 'expected a path that is not one of the daemon’s own (/graphql, /healthz, /readyz, /metrics, /uploads, /dashboard-plugins)' })
        .default('/'),
    })
    .prefault({}),
  dataDir: z.string().min(1).default('./data'),
  log: z
    .strictObject({
      level: z.enum(logLevels).default('info'),
    })
    .prefault({}),
  database: z
    .strictObject({
      /** `postgresql://…` for PostgreSQL; unset means SQLite at `<dataDir>/backplane.db`. */
      url: z.string().regex(/^(postgres(ql)?|sqlite):/, 'expected postgresql://… or sqlite:…').optional(),
      debug: z.boolean().default(false),
    })
    .prefault({}),
  auth: z
    .strictObject({
      keys: z.array(apiKeySchema).default([]),
      /** Users who log in for JWTs (login mutation); see docs/security.md. */
      users: z.array(userSchema).default([]),
      jwt: jwtSchema.prefault({}),
      /** Logins and refreshes over `/graphql` without a key, per client address (REST routes use their profile's limits). */
      loginRateLimit: rateLimitBucketSchema.prefault({ limit: 10 }),
      /** Failed user-key and password checks per source address before it is refused for the rest of the window. */
      failedAttempts: z.strictObject({ limit: positiveInt.default(20), windowSeconds: positiveInt.default(300) }).prefault({}),
    })
    .superRefine((auth, ctx) => distinctPrincipals(auth, ctx))
    .prefault({}),
  jobs: z
    .strictObject({
      maxConcurrent: positiveInt.default(4),
      killGraceSeconds: nonNegativeInt.default(10),
      maxLogBytes: positiveInt.default(256 * 1024 * 1024),
      onShutdown: z.enum(['keep', 'stop']).default('keep'),
      /**
       * How long after its submission a job waiting for GPUs lets later jobs that fit take GPUs
       * it could use (backfill); from then on it keeps them for itself. See docs/jobs.md.
       */
      backfillWindowMs: nonNegativeInt.default(600_000),
      /** A job still queued this long after its submission fails; 0 for no limit. */
      maxWaitMs: nonNegativeInt.default(0),
      /**
       * Variables a job inherits from the daemon's environment (a trailing `*` matches a prefix);
       * everything else, API keys and `BACKPLANE_*` included, stays out. See docs/jobs.md.
       */
      envAllowList: z
        .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'expected a variable name, or a prefix ending in *'))
        .default(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'LC_*', 'TZ', 'TMPDIR', 'TERM', 'XDG_*', 'CUDA_HOME', 'LD_LIBRARY_PATH', 'VIRTUAL_ENV', 'PYTHONPATH', 'HF_HOME']),
    })
    .prefault({}),
  kernel: z
    .strictObject({
      initTimeoutMs: positiveInt.default(30_000),
      stopTimeoutMs: positiveInt.default(10_000),
      stopDeadlineMs: positiveInt.default(30_000),
    })
    .prefault({}),
  rest: z
    .strictObject({
      profiles: z.record(z.string(), restProfileSchema).default({}),
      /** File bytes a multipart upload (REST `body: 'multipart'`, `POST /uploads`) may carry, unless its route says less. */
      maxUploadBytes: positiveInt.default(1024 ** 3),
      /** How long an upload nobody claimed stays staged. */
      uploadTtlMs: positiveInt.default(10 * 60_000),
    })
    .superRefine((rest, ctx) => sameAuthPerListener(rest.profiles, ctx))
    .prefault({}),
  plugins: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a kebab-case plugin id'), pluginSectionSchema).default({}),
});

export type BackplaneConfig = z.output<typeof configSchema>;
export type BackplaneConfigInput = z.input<typeof configSchema>;
export type ApiKeyConfig = BackplaneConfig['auth']['keys'][number];
export type RestProfileConfig = z.output<typeof restProfileSchema>;
export type RateLimitsConfig = z.output<typeof rateLimitsSchema>;
