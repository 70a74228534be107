import { z } from '../../core/plugin-api.ts';

/** A served name: also part of the container name, so podman's name rules apply. */
export const servedNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'expected 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit');

/** A start request before its model path and args are checked against the host and allow-list. */
export const startInputSchema = z.strictObject({
  name: servedNameSchema,
  modelPath: z.string().min(1, 'expected a path').max(4096),
  port: z.number().int('expected an integer port').min(1024, 'expected a port from 1024 to 65535').max(65535, 'expected a port from 1024 to 65535'),
  gpus: z
    .strictObject({
      count: z.number().int().min(1).max(64).optional(),
      indices: z.array(z.number().int().min(0).max(1023)).min(1).max(64).optional(),
    })
    .optional(),
  args: z.array(z.string().max(1024)).max(64).optional(),
  labels: z
    .record(z.string().regex(/^[a-z][a-z0-9_.-]{0,62}$/, 'expected a lower-case label key'), z.string().max(1024))
    .refine((labels) => Object.keys(labels).length <= 32, 'expected at most 32 labels')
    .optional(),
});
