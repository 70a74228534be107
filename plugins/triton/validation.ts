import { isIP } from 'node:net';
import { InputError, z } from '../../core/plugin-api.ts';
import { modelNamePattern, versionPattern } from './model-files.ts';

/** Server ids: `t1`, `gpu-box-a`… (stable; other plugins keep them). */
export const serverIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected an id of letters, digits, ".", "_", "-" (at most 63)');
export const modelNameSchema = z.string().regex(modelNamePattern, 'expected a Triton model name: letters, digits, "_", ".", "-" (at most 128)');
export const versionSchema = z.string().regex(versionPattern, 'expected a version number such as 1');

const hostSchema = z
  .string()
  .min(1)
  .max(253)
  .refine((h) => isIP(h) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(h), 'expected an IP address or host name');
const portSchema = z.number().int().min(1).max(65535);

/** Registration of a server (REST and GraphQL alike). */
export const registerInputSchema = z.strictObject({
  id: serverIdSchema.nullish(),
  host: hostSchema,
  httpPort: portSchema,
  metricsPort: portSchema.nullish(),
  gpus: z.number().int().min(0).max(1024).nullish(),
  repositoryPath: z.string().min(1).max(4096).nullish(),
});
export type RegisterInput = z.input<typeof registerInputSchema>;

/** A change of a registered server: every field optional; `null` clears metricsPort / repositoryPath. */
export const updateInputSchema = z.strictObject({
  host: hostSchema.nullish(),
  httpPort: portSchema.nullish(),
  metricsPort: portSchema.nullish(),
  gpus: z.number().int().min(0).max(1024).nullish(),
  repositoryPath: z.string().min(1).max(4096).nullish(),
});
export type UpdateInput = z.input<typeof updateInputSchema>;

/** `file:<path>` overrides of a load: a relative path inside the model folder, base64 content. */
export const fileOverrideSchema = z.strictObject({
  path: z.string().min(1).max(1024).refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'expected a path relative to the model folder'),
  base64: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64'),
});

export const loadInputSchema = z.strictObject({
  /** Model configuration JSON that replaces config.pbtxt for this load (required with files). */
  config: z.string().max(1_000_000).optional(),
  files: z.array(fileOverrideSchema).max(1000).optional(),
});
export type LoadInput = z.input<typeof loadInputSchema>;

/** Parses input, or throws an {@link InputError} naming the first bad field. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, what = 'input'): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = issue.path.length ? issue.path.join('.') : what;
  throw new InputError(`${where}: ${issue.message}`, { details: { field: where } });
}

/** Checks a model name (and version) argument. */
export function checkModelArgs(name: string, version?: string): void {
  validate(modelNameSchema, name, 'name');
  if (version !== undefined) validate(versionSchema, version, 'version');
}
