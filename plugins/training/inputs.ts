import { InputError, z } from '../../core/plugin-api.ts';
import { traitTypes, trainingTypes, jobStatuses } from './types.ts';

/**
 * Request bodies as the real project's Pydantic models bound them (create-schema bounds from
 * `schemas/training_job.py`); used by the REST face (422 in FastAPI's list shape) and by
 * GraphQL (BAD_USER_INPUT).
 */
const name = z.string().trim().min(1).max(255);
const description = z.string().max(5000).nullable().optional();

export const hyperparameterShape = {
  batch_size: z.number().int().min(1).max(64),
  learning_rate: z.number().gt(0).max(1),
  epochs: z.number().int().min(1).max(100),
  lora_r: z.number().int().min(1).max(256),
  lora_alpha: z.number().int().min(1).max(512),
  lora_dropout: z.number().min(0).max(1),
};

export const jobCreateSchema = z.object({
  name,
  description,
  dataset_id: z.number().int().positive(),
  training_type: z.enum(trainingTypes).optional(),
  model_name: z.string().trim().min(1).max(255).optional(),
  batch_size: hyperparameterShape.batch_size.optional(),
  learning_rate: hyperparameterShape.learning_rate.optional(),
  epochs: hyperparameterShape.epochs.optional(),
  lora_r: hyperparameterShape.lora_r.optional(),
  lora_alpha: hyperparameterShape.lora_alpha.optional(),
  lora_dropout: hyperparameterShape.lora_dropout.optional(),
});
export type JobCreateInput = z.output<typeof jobCreateSchema>;

export const configPatchSchema = z.strictObject({
  max_concurrent_workers: z.number().int().min(1).max(32).optional(),
  default_model: z.string().trim().min(1).max(255).optional(),
  default_training_type: z.enum(trainingTypes).optional(),
  default_batch_size: hyperparameterShape.batch_size.optional(),
  default_learning_rate: hyperparameterShape.learning_rate.optional(),
  default_epochs: hyperparameterShape.epochs.optional(),
  default_lora_r: hyperparameterShape.lora_r.optional(),
  default_lora_alpha: hyperparameterShape.lora_alpha.optional(),
  default_lora_dropout: hyperparameterShape.lora_dropout.optional(),
  auto_start_workers: z.boolean().optional(),
});
export type ConfigPatch = z.output<typeof configPatchSchema>;

export const metadataPatchSchema = z.object({ name: name.optional(), description });
export type MetadataPatch = z.output<typeof metadataPatchSchema>;

export const workerControlSchema = z.object({
  action: z.enum(['start', 'stop', 'restart']),
  worker_count: z.number().int().min(1).max(32).optional(),
});
export type WorkerControl = z.output<typeof workerControlSchema>;

export const projectCreateSchema = z.object({
  name,
  description,
  base_model: z.string().trim().min(1).max(255),
  model_type: z.string().max(255).nullable().optional(),
  training_type: z.enum(trainingTypes).default('qlora'),
  max_rows: z.number().int().positive().nullable().optional(),
  output_directory: z.string().min(1).max(4096),
  traits: z.array(
    z.object({
      trait_type: z.enum(traitTypes),
      datasets: z.array(z.object({ dataset_id: z.number().int().positive(), percentage: z.number().min(0).max(100) })).max(100),
    }),
  ).max(3),
});
export type ProjectCreateInput = z.output<typeof projectCreateSchema>;

const pageSchemas = new Map<number, z.ZodType<{ page: number; page_size: number }>>();
/** `?page=&page_size=` (≤ 100) with a list's default size; built once per size (zod schemas are costly to build per request). */
export function pageSchema(defaultSize: number): z.ZodType<{ page: number; page_size: number }> {
  let schema = pageSchemas.get(defaultSize);
  if (!schema) {
    schema = z.object({
      page: z.coerce.number().int().min(1).default(1),
      page_size: z.coerce.number().int().min(1).max(100).default(defaultSize),
    });
    pageSchemas.set(defaultSize, schema);
  }
  return schema;
}

export const statusQuerySchema = z.object({ status: z.enum(jobStatuses).optional() });
export const outputDirBodySchema = z.object({ output_directory: z.string().min(1).max(4096) });
export const modelBodySchema = z.object({ model_name: z.string().min(1).max(255) });

export const jobStatusFilter = z.enum(jobStatuses).optional();

/** FastAPI's 422 item. */
export interface ValidationDetail {
  type: string;
  loc: (string | number)[];
  msg: string;
  input?: unknown;
}

/** Marks an InputError whose message is a FastAPI 422 detail list (see rest.ts). */
export const VALIDATION_PREFIX = 'fastapi-422:';

/** Parses a request part (`body`, `query`) like Pydantic: a 422 listing every problem. */
export function parseLike<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'query'): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const detail: ValidationDetail[] = parsed.error.issues.map((issue) => ({
    type: issue.code === 'invalid_type' ? (issue.input === undefined ? 'missing' : 'type_error') : issue.code === 'too_big' ? 'less_than_equal' : issue.code === 'too_small' ? 'greater_than_equal' : 'value_error',
    loc: [where, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
    msg: issue.input === undefined && issue.code === 'invalid_type' ? 'Field required' : issue.message,
  }));
  throw new InputError(VALIDATION_PREFIX + JSON.stringify(detail));
}
