import { InputError, z, type RestErrorReplies, type RestRegistrar, type RestRequest, type RestRoute } from '../../core/plugin-api.ts';
import { configPatchSchema, jobCreateSchema, metadataPatchSchema, modelBodySchema, outputDirBodySchema, pageSchema, parseLike, projectCreateSchema, statusQuerySchema, VALIDATION_PREFIX, workerControlSchema } from './inputs.ts';
import { camelKeys, snakeKeys } from './wire.ts';

/**
 * The Model Training Manager's REST API (the seed document's routes, `/api/v1/...`, plus the
 * real project's `/projects/{id}/validate` and root `/health`), on the `training-manager` profile:
 * mounted at `/training-manager` by default so it never meets tinker's `/api/v1/health`.
 * Bodies are checked like FastAPI's Pydantic models (422 with `{"detail": [{type, loc, msg}]}`);
 * rule violations are 400 `{"detail": "…"}`.
 * @see docs/training.md#rest-api
 */
const profile = 'training-manager';
const base = '/api/v1';

/** BAD_USER_INPUT is 422 with FastAPI's list when a body or path failed its model, else 400 with the rule's message. */
const errors: RestErrorReplies = {
  BAD_USER_INPUT: ({ message }) =>
    message.startsWith(VALIDATION_PREFIX) ? { status: 422, json: { detail: JSON.parse(message.slice(VALIDATION_PREFIX.length)) } } : { status: 400, json: { detail: message } },
};

const intPath = (request: RestRequest, name: string): number => {
  const raw = request.params[name];
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) {
    throw new InputError(VALIDATION_PREFIX + JSON.stringify([{ type: 'int_parsing', loc: ['path', name], msg: 'Input should be a valid integer, unable to parse string as an integer', input: raw }]));
  }
  return Number(raw);
};
const strPath = (request: RestRequest, name: string): string => {
  const raw = request.params[name];
  if (!/^[a-z]+-\d{1,12}$/.test(raw)) {
    throw new InputError(VALIDATION_PREFIX + JSON.stringify([{ type: 'string_pattern_mismatch', loc: ['path', name], msg: "String should look like 'job-1' or 'project-1'", input: raw }]));
  }
  return raw;
};
const query = (request: RestRequest) => Object.fromEntries(request.query.entries());
const body = <T>(schema: z.ZodType<T>, request: RestRequest) => parseLike(schema, request.body ?? {}, 'body');
const page = (size: number) => {
  const schema = pageSchema(size);
  return (request: RestRequest) => {
  const p = parseLike(schema, query(request), 'query');
  return { page: p.page, pageSize: p.page_size };
  };
};

/** Both `/x/` (the seed) and `/x` (FastAPI redirects it; we answer it) for collection routes. */
function add(routes: RestRegistrar, route: Omit<RestRoute, 'profile' | 'errors'>, slashless = false): void {
  routes.add({ ...route, profile, errors, path: `${base}${route.path}` });
  if (slashless) routes.add({ ...route, profile, errors, path: `${base}${route.path.replace(/\/$/, '')}` });
}

export function addTrainingRoutes(routes: RestRegistrar): void {
  const health = { method: 'GET', operation: 'TmHealth', rateLimit: 'none', reply: (d: any) => ({ json: d.trainingHealth }) } as const;
  add(routes, { ...health, path: '/health' });
  routes.add({ ...health, profile, errors, path: '/health' });

  // Datasets
  add(
    routes,
    {
      method: 'POST',
      path: '/datasets/',
      operation: 'TmCreateDataset',
      body: 'multipart',
      rateLimit: 'heavy',
      variables: (r) => {
        const b = r.body as { uploadId: string; fields: Record<string, string>; files: { field: string }[] };
        const missing = [...(b.files.some((f) => f.field === 'file') ? [] : ['file']), ...(b.fields.name?.trim() ? [] : ['name'])];
        if (missing.length) throw new InputError(VALIDATION_PREFIX + JSON.stringify(missing.map((m) => ({ type: 'missing', loc: ['body', m], msg: 'Field required' }))));
        return { uploadId: b.uploadId, name: b.fields.name, description: b.fields.description ?? null };
      },
      reply: (d) => ({ status: 201, json: snakeKeys(d.createTrainingDataset) }),
    },
    true,
  );
  add(routes, { method: 'GET', path: '/datasets/', operation: 'TmDatasets', variables: page(10), reply: (d) => ({ json: d.trainingDatasets }) }, true);
  add(routes, { method: 'GET', path: '/datasets/{id}', operation: 'TmDataset', variables: (r) => ({ id: intPath(r, 'id') }), reply: (d) => ({ json: d.trainingDataset }) });
  add(routes, {
    method: 'PATCH',
    path: '/datasets/{id}',
    operation: 'TmUpdateDataset',
    variables: (r) => ({ id: intPath(r, 'id'), input: camelKeys(body(metadataPatchSchema, r)) }),
    reply: (d) => ({ json: snakeKeys(d.updateTrainingDataset) }),
  });
  add(routes, { method: 'DELETE', path: '/datasets/{id}', operation: 'TmDeleteDataset', body: 'ignore', variables: (r) => ({ id: intPath(r, 'id') }), reply: () => ({ status: 204, empty: true }) });

  // Jobs
  add(
    routes,
    { method: 'POST', path: '/jobs/', operation: 'TmCreateJob', variables: (r) => ({ input: camelKeys(body(jobCreateSchema, r)) }), reply: (d) => ({ status: 201, json: snakeKeys(d.createTrainingJob) }) },
    true,
  );
  add(
    routes,
    {
      method: 'GET',
      path: '/jobs/',
      operation: 'TmJobs',
      variables: (r) => ({ ...page(10)(r), status: parseLike(statusQuerySchema, { status: r.query.get('status') ?? undefined }, 'query').status ?? null }),
      reply: (d) => ({ json: d.trainingJobs }),
    },
    true,
  );
  add(routes, { method: 'GET', path: '/jobs/{id}', operation: 'TmJob', variables: (r) => ({ id: strPath(r, 'id') }), reply: (d) => ({ json: d.trainingJob }) });
  add(routes, { method: 'GET', path: '/jobs/{id}/status', operation: 'TmJobStatus', variables: (r) => ({ id: strPath(r, 'id') }), reply: (d) => ({ json: snakeKeys(d.trainingJob) }) });
  add(routes, { method: 'POST', path: '/jobs/{id}/cancel', operation: 'TmCancelJob', body: 'json-optional', variables: (r) => ({ id: strPath(r, 'id') }), reply: (d) => ({ json: snakeKeys(d.cancelTrainingJob) }) });

  // Config
  add(routes, { method: 'GET', path: '/config/', operation: 'TmConfig', reply: (d) => ({ json: snakeKeys(d.trainingConfig) }) }, true);
  add(routes, { method: 'PATCH', path: '/config/', operation: 'TmUpdateConfig', variables: (r) => ({ input: camelKeys(body(configPatchSchema, r)) }), reply: (d) => ({ json: snakeKeys(d.updateTrainingConfig) }) }, true);

  // Workers
  add(routes, { method: 'GET', path: '/workers/', operation: 'TmWorkers', reply: (d) => ({ json: snakeKeys(d.trainingWorkers) }) }, true);
  add(
    routes,
    {
      method: 'POST',
      path: '/workers/',
      operation: 'TmControlWorkers',
      rateLimit: 'heavy',
      variables: (r) => {
        const c = body(workerControlSchema, r);
        return { action: c.action, workerCount: c.worker_count ?? null };
      },
      reply: (d) => ({ json: snakeKeys(d.controlTrainingWorkers) }),
    },
    true,
  );

  // Projects (the fixed paths before `{id}`: a template with a literal wins over none here, since ids look like project-1)
  add(routes, { method: 'POST', path: '/projects/validate-output-dir', operation: 'TmValidateOutputDir', variables: (r) => ({ outputDirectory: body(outputDirBodySchema, r).output_directory }), reply: (d) => ({ status: d.validateTrainingOutputDir.valid ? 200 : 400, json: d.validateTrainingOutputDir.valid ? snakeKeys(d.validateTrainingOutputDir) : { detail: d.validateTrainingOutputDir.errors.join('; '), ...snakeKeys<object>(d.validateTrainingOutputDir) } }) });
  add(routes, { method: 'POST', path: '/projects/validate-model', operation: 'TmValidateModel', variables: (r) => ({ modelName: body(modelBodySchema, r).model_name }), reply: (d) => ({ json: snakeKeys(d.trainingValidateModel) }) });
  add(routes, { method: 'GET', path: '/projects/models/available', operation: 'TmAvailableModels', reply: (d) => ({ json: d.trainingAvailableModels }) });
  add(
    routes,
    { method: 'POST', path: '/projects/', operation: 'TmCreateProject', rateLimit: 'heavy', variables: (r) => ({ input: camelKeys(body(projectCreateSchema, r)) }), reply: (d) => ({ status: 201, json: snakeKeys(d.createTrainingProject) }) },
    true,
  );
  add(routes, { method: 'GET', path: '/projects/', operation: 'TmProjects', variables: page(50), reply: (d) => ({ json: d.trainingProjects }) }, true);
  add(routes, { method: 'GET', path: '/projects/{id}', operation: 'TmProject', variables: (r) => ({ id: strPath(r, 'id') }), reply: (d) => ({ json: d.trainingProject }) });
  add(routes, {
    method: 'PATCH',
    path: '/projects/{id}',
    operation: 'TmUpdateProject',
    variables: (r) => ({ id: strPath(r, 'id'), input: camelKeys(body(metadataPatchSchema, r)) }),
    reply: (d) => ({ json: snakeKeys(d.updateTrainingProject) }),
  });
  add(routes, { method: 'POST', path: '/projects/{id}/start', operation: 'TmStartProject', body: 'json-optional', rateLimit: 'heavy', variables: (r) => ({ id: strPath(r, 'id') }), reply: (d) => ({ json: snakeKeys(d.startTrainingProject) }) });
  add(routes, { method: 'POST', path: '/projects/{id}/validate', operation: 'TmValidateProject', body: 'json-optional', rateLimit: 'heavy', variables: (r) => ({ id: strPath(r, 'id') }), reply: (d) => ({ json: snakeKeys(d.validateTrainingProject) }) });
}
