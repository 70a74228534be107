import { z } from '../../core/plugin-api.ts';

/**
 * An instance name, by llamactl's rule (`pkg/validation`: `^[a-zA-Z0-9_-]+$`, at most 50
 * characters), so every llamactl instance name is valid here and the name is safe in URLs,
 * log fields and the router's `model`.
 */
export const instanceNameSchema = z
  .string()
  .min(1, 'name cannot be empty')
  .max(50, 'name too long (max 50 characters)')
  .regex(/^[a-zA-Z0-9_-]+$/, 'name contains invalid characters (only alphanumeric, hyphens, underscores allowed)');

/** A model alias for the router: the instance-name rule plus ".", ":" and "/" (`org/model:q4`). */
export const aliasSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$/, 'expected letters, digits, "_", "-", ".", ":" or "/"');

/** Options a caller may set (create, update); unset ones keep the current value or the default. */
export const optionsInputSchema = z.strictObject({
  threads: z.number().int().min(1).max(1024).nullable().optional(),
  ctxSize: z.number().int().min(0).max(10_000_000).optional(),
  gpuLayers: z.number().int().min(-1).max(100_000).optional(),
  parallel: z.number().int().min(1).max(1024).optional(),
  aliases: z.array(aliasSchema).max(16).optional(),
  extraArgs: z.array(z.string().max(1024)).max(64).optional(),
  gpuCount: z.number().int().min(0).max(64).optional(),
  gpuIndices: z.array(z.number().int().min(0).max(1023)).max(64).optional(),
  autoRestart: z.boolean().optional(),
  maxRestarts: z.number().int().min(0).max(1000).optional(),
  onDemandStart: z.boolean().optional(),
  // Fractions allowed (0.5: 30 s); llamactl's faces take whole minutes.
  idleTimeoutMinutes: z.number().min(0).max(525_600).optional(),
  group: z.string().max(50).nullable().optional(),
});

export type OptionsInput = z.output<typeof optionsInputSchema>;

/** `createLlamaInstance`'s input before the model path and flags are checked against the host. */
export const createInputSchema = z.strictObject({
  name: instanceNameSchema,
  modelPath: z.string().min(1, 'expected a path').max(4096),
  /** Fixed port; picked from `portRange` when absent. */
  port: z.number().int().min(1024, 'expected a port from 1024 to 65535').max(65535, 'expected a port from 1024 to 65535').optional(),
  options: optionsInputSchema.optional(),
});

export type CreateInput = z.output<typeof createInputSchema>;

/** `updateLlamaInstance`'s input: any of the create fields but the name. */
export const updateInputSchema = z.strictObject({
  modelPath: z.string().min(1, 'expected a path').max(4096).optional(),
  port: z.number().int().min(1024, 'expected a port from 1024 to 65535').max(65535, 'expected a port from 1024 to 65535').optional(),
  options: optionsInputSchema.optional(),
});

export type UpdateInput = z.output<typeof updateInputSchema>;

/** A stop's grace period in seconds (SIGTERM → SIGKILL). */
export const stopTimeoutSchema = z.number().int().min(0).max(600);
