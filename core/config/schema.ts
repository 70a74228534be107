import { z } from 'zod';

/** The one source of core defaults. Plugin defaults live in each plugin's `configSchema`. */
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export const apiScopes = ['read', 'operate', 'admin'] as const;
export type ApiScope = (typeof apiScopes)[number];

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

const listenSchema = z.strictObject({
  host: z.string().min(1),
  port,
});

const restProfileSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Mount prefix on the main listener (or on `listen`, when set). */
  prefix: z.string().regex(/^\/([A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*)?$/, 'expected a path like / or /api').optional(),
  /** A separate address for legacy clients that expect their own host:port. */
  listen: listenSchema.optional(),
});

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
    })
    .prefault({}),
  jobs: z
    .strictObject({
      maxConcurrent: positiveInt.default(4),
      killGraceSeconds: nonNegativeInt.default(10),
      maxLogBytes: positiveInt.default(256 * 1024 * 1024),
      onShutdown: z.enum(['keep', 'stop']).default('keep'),
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
    })
    .prefault({}),
  plugins: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a kebab-case plugin id'), pluginSectionSchema).default({}),
});

export type BackplaneConfig = z.output<typeof configSchema>;
export type BackplaneConfigInput = z.input<typeof configSchema>;
export type ApiKeyConfig = BackplaneConfig['auth']['keys'][number];
export type RestProfileConfig = z.output<typeof restProfileSchema>;
