import { z } from '../../core/plugin-api.ts';

const positiveInt = z.number().int().positive();

/** `plugins.gateway`: where the gateway listens and the defaults of new apps. See docs/gateway.md. */
export const gatewayConfigSchema = z.strictObject({
  /** A listener of the gateway's own (`{ host, port }`) besides the main listener's `/gateway/…`. */
  listen: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(0).max(65535) }).optional(),
  /** Largest request body forwarded (it is buffered, so that a retry can send it again). */
  maxBodyBytes: positiveInt.default(16 * 1024 * 1024),
  defaults: z
    .strictObject({
      retries: z.number().int().min(0).max(5).default(2),
      timeoutMs: positiveInt.default(60_000),
      rateLimit: z.strictObject({ limit: positiveInt.default(600), windowSeconds: positiveInt.default(60) }).prefault({}),
    })
    .prefault({}),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
