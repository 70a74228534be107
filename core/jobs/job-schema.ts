import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { InputError, NotFoundError } from '../errors.ts';
import type { Builder, CoreSchemaRefs } from '../graphql/builder.ts';
import { cursorArg, firstArg, idArg, tailArg } from '../graphql/validators.ts';
import { jobTopic } from './job-topic.ts';
import { connectionJobFields } from './job-selection.ts';
import { terminalJobStatuses, type JobRecord } from './job-service.ts';
import { createConcurrencyLimit } from '../../packages/plugin-api/src/concurrency-limit.ts';
import { followLines, readTail, splitLines } from './log-file.ts';

/** A batch of log lines: one event per read, not per line, so fast writers stream cheaply. */
interface JobLogChunk {
  jobId: string;
  lines: string[];
}

/** Jobs in GraphQL: `job`, `jobs`, `cancelJob`, `jobUpdated`, `jobLog`. Returns the `Job` type for plugins. */
export function addJobSchema(builder: Builder): CoreSchemaRefs {
  // One document may ask for thousands of logs (aliases, long lists): a few files open at a time.
  const logReads = createConcurrencyLimit(16);
  const JobStatusEnum = builder.enumType('JobStatus', {
    values: {
      queued: { description: 'Waiting for a slot under jobs.maxConcurrent, or for GPUs.' },
      running: {},
      succeeded: {},
      failed: { description: 'Non-zero exit, signal, lost across a restart, or could not start; see failureReason.' },
      cancelled: {},
    } as const,
  });

  const JobLabel = builder.objectRef<[string, string]>('JobLabel').implement({
    fields: (t) => ({
      key: t.string({ resolve: ([key]) => key }),
      value: t.string({ resolve: ([, value]) => value }),
    }),
  });

  const byteOffsetArg = z.number().int('expected an integer').min(0, 'expected 0 or more');
  // A window of whole lines with its byte range: how a UI pages back through a 1 GiB log.
  const JobLogWindowRef = builder.objectRef<{ lines: string[]; start: number; end: number }>('JobLogWindow').implement({
    description: 'Consecutive lines of a job log and the bytes they span (`start` inclusive, `end` exclusive).',
    fields: (t) => ({
      lines: t.exposeStringList('lines', { description: 'Without newlines, oldest first.' }),
      start: t.exposeFloat('start', { description: 'Byte offset of the first line: pass it as `before` for the lines above.' }),
      end: t.exposeFloat('end', { description: 'Byte offset after the last line: pass it as `jobLog(from:)` to follow on without a gap.' }),
    }),
  });

  const Job = builder.objectRef<JobRecord>('Job');
  // A field that reads the record belongs in job-selection.ts too, or listings read every column.
  Job.implement({
    description: 'Long external work (data generation, training, serving, conversion) run by a plugin.',
    fields: (t) => ({
      id: t.exposeID('id', { description: '`<prefix>-<unix ns>`, e.g. `t-1738047068590824000`.' }),
      kind: t.exposeString('kind'),
      plugin: t.exposeString('plugin'),
      status: t.field({ type: JobStatusEnum, resolve: (j) => j.status }),
      command: t.exposeString('command'),
      args: t.exposeStringList('args'),
      cwd: t.exposeString('cwd', { nullable: true }),
      pid: t.exposeInt('pid', { nullable: true }),
      exitCode: t.exposeInt('exitCode', { nullable: true }),
      signal: t.exposeString('signal', { nullable: true }),
      logPath: t.exposeString('logPath'),
      createdAt: t.field({ type: 'DateTime', resolve: (j) => j.createdAt }),
      startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (j) => j.startedAt }),
      finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (j) => j.finishedAt }),
      parentId: t.exposeString('parentId', { nullable: true }),
      parent: t.field({ type: Job, nullable: true, resolve: (j, _args, ctx) => (j.parentId ? ctx.core.jobs.get(j.parentId) : null) }),
      children: t.field({ type: [Job], description: 'Steps of a group job (pipeline), oldest first.', resolve: async (j, _args, ctx) => (await ctx.core.jobs.list({ parentId: j.id })).reverse() }),
      labels: t.field({ type: [JobLabel], resolve: (j) => Object.entries(j.labels) }),
      label: t.string({ nullable: true, args: { key: t.arg.string({ required: true }) }, resolve: (j, { key }) => (Object.hasOwn(j.labels, key) ? j.labels[key]! : null) }),
      progress: t.exposeFloat('progress', { nullable: true, description: '0–1, from the plugin’s progress parser.' }),
      progressMessage: t.exposeString('progressMessage', { nullable: true }),
      failureReason: t.exposeString('failureReason', { nullable: true }),
      gpus: t.exposeIntList('gpus', { description: 'GPU indices leased to the job.' }),
      waitingFor: t.string({
        nullable: true,
        description: 'What a queued job waits for: `waiting for 4 GPUs (2 free, held by t-…, ml-…)` or `waiting for a job slot (jobs.maxConcurrent=2)`; null when it is not waiting.',
        resolve: (j, _args, ctx) => (j.status === 'queued' ? ctx.core.jobs.waitingFor(j.id) : null),
      }),
      logSize: t.float({ description: 'Size of the log file in bytes.', resolve: async (j) => (await stat(j.logPath).catch(() => undefined))?.size ?? 0 }),
      logExists: t.boolean({ resolve: async (j) => (await stat(j.logPath).catch(() => undefined)) !== undefined }),
      logLines: t.field({
        type: JobLogWindowRef,
        description: 'The last `last` lines before byte `before` (default: the end of the log now), with their byte range; cost grows with the lines asked for, not with the log.',
        args: { last: t.arg.int({ required: true, validate: { schema: tailArg } }), before: t.arg.float({ validate: { schema: byteOffsetArg } }) },
        resolve: async (j, { last, before }) => {
          const size = (await stat(j.logPath).catch(() => undefined))?.size;
          if (size === undefined) throw new NotFoundError(`Log file not found for job ${j.id}`);
          const read = await logReads(() => readTail(j.logPath, last, Math.min(before ?? size, size)));
          // A last line still being written is left to the follower, whole.
          const cut = read.text.lastIndexOf('\n') + 1;
          const text = read.text.slice(0, cut);
          const end = read.end - Buffer.byteLength(read.text.slice(cut));
          return { lines: splitLines(text), start: end - Buffer.byteLength(text), end };
        },
      }),
      log: t.string({
        description: 'The last `tail` lines of the log (all of it when tail is omitted and the log is under 1 MiB).',
        args: { tail: t.arg.int({ validate: { schema: tailArg } }) },
        resolve: async (j, { tail }) => {
          const size = (await stat(j.logPath).catch(() => undefined))?.size;
          if (size === undefined) throw new NotFoundError(`Log file not found for job ${j.id}`);
          if (tail === null || tail === undefined) {
            if (size > 1024 * 1024) throw new InputError('The log is larger than 1 MiB; ask for the last lines with tail');
            return (await logReads(() => readTail(j.logPath, Number.MAX_SAFE_INTEGER))).text;
          }
          return (await logReads(() => readTail(j.logPath, tail))).text;
        },
      }),
    }),
  });

  builder.queryField('job', (t) =>
    t.field({
      type: Job,
      nullable: true,
      args: { id: t.arg.id({ required: true, validate: { schema: idArg } }) },
      resolve: async (_root, { id }, ctx) => (await ctx.core.jobs.get(String(id))) ?? null,
    }),
  );

  builder.queryField('jobs', (t) =>
    t.connection({
      type: Job,
      description: 'Jobs, newest first. Forward paging only (`first`, `after`).',
      args: {
        status: t.arg({ type: JobStatusEnum }),
        plugin: t.arg.string({ validate: { schema: idArg } }),
        kind: t.arg.string({ validate: { schema: idArg } }),
      },
      resolve: async (_root, args, ctx, info) => {
        if (args.last != null || args.before != null) throw new InputError('jobs pages forward only: use first and after');
        const first = firstArg.safeParse(args.first ?? 50);
        if (!first.success) throw new InputError(`Invalid argument first: ${first.error.issues[0].message}`);
        if (args.after != null && !cursorArg.safeParse(args.after).success) throw new InputError('Invalid argument after: expected a cursor from a previous page');
        // Only the columns the selected fields read: a legacy `GET /jobs` lists 100,000 jobs.
        const filter = { status: args.status ?? undefined, plugin: args.plugin ?? undefined, kind: args.kind ?? undefined };
        const page = await ctx.core.jobs.page(filter, first.data, args.after ?? undefined, connectionJobFields(info));
        const edges = page.records.map((node) => new JobEdge(node));
        return {
          edges,
          pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: args.after != null, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
        };
      },
    }),
  );

  builder.mutationField('cancelJob', (t) =>
    t.field({
      type: Job,
      description: 'SIGTERM to the job’s process group, SIGKILL after jobs.killGraceSeconds. CONFLICT when the job has already ended.',
      args: { id: t.arg.id({ required: true, validate: { schema: idArg } }) },
      resolve: (_root, { id }, ctx) => ctx.core.jobs.cancel(String(id)),
    }),
  );

  builder.subscriptionField('jobUpdated', (t) =>
    t.field({
      type: Job,
      description: 'Status and progress changes of one job (completing when it ends), or of every job when id is omitted.',
      args: { id: t.arg.id({ validate: { schema: idArg } }) },
      subscribe: (_root, { id }, ctx) => watchJobs(ctx, id == null ? undefined : String(id)),
      resolve: (job) => job,
    }),
  );

  const JobLogChunkRef = builder.objectRef<JobLogChunk>('JobLogChunk').implement({
    fields: (t) => ({
      jobId: t.exposeID('jobId'),
      lines: t.exposeStringList('lines', { description: 'Complete lines in the order they were written, without newlines.' }),
    }),
  });

  builder.subscriptionField('jobLog', (t) =>
    t.field({
      type: JobLogChunkRef,
      description: 'The last `tail` lines, then every new line live, in batches; completes when the job ends. With `from` (a `Job.logLines` window’s `end`), the lines written from that byte on instead of a tail.',
      args: {
        id: t.arg.id({ required: true, validate: { schema: idArg } }),
        tail: t.arg.int({ defaultValue: 0, validate: { schema: tailArg } }),
        from: t.arg.float({ validate: { schema: byteOffsetArg } }),
      },
      subscribe: (_root, { id, tail, from }, ctx) => streamLog(ctx, String(id), tail ?? 0, from ?? undefined),
      resolve: (chunk) => chunk,
    }),
  );

  return { Job };
}

function cursorOf(job: JobRecord): string {
  return job.id.slice(job.id.lastIndexOf('-') + 1);
}

/** A `jobs` edge whose cursor is made only if the query reads it (`GET /jobs` lists 100,000). */
class JobEdge {
  readonly node: JobRecord;

  constructor(node: JobRecord) {
    this.node = node;
  }

  get cursor(): string {
    return cursorOf(this.node);
  }
}

async function* watchJobs(ctx: import('../graphql/context.ts').GraphQLContext, id: string | undefined): AsyncGenerator<JobRecord> {
  const updates = ctx.subscribe<JobRecord>(jobTopic);
  try {
    if (id !== undefined) {
      const job = await ctx.core.jobs.get(id);
      if (!job) throw new NotFoundError(`Job not found: ${id}`);
      yield job;
      if (terminalJobStatuses.has(job.status)) return;
    }
    for await (const job of updates) {
      if (id !== undefined && job.id !== id) continue;
      yield job;
      if (id !== undefined && terminalJobStatuses.has(job.status)) return;
    }
  } finally {
    await updates.return?.();
  }
}

async function* streamLog(ctx: import('../graphql/context.ts').GraphQLContext, id: string, tail: number, from?: number): AsyncGenerator<JobLogChunk> {
  const job = await ctx.core.jobs.get(id);
  if (!job) throw new NotFoundError(`Job not found: ${id}`);
  const { text, end } = from !== undefined ? { text: '', end: from } : await readTail(job.logPath, tail);
  if (tail > 0 && text !== '') yield { jobId: id, lines: splitLines(text) };
  const isFinished = async () => {
    const current = await ctx.core.jobs.get(id);
    return !current || terminalJobStatuses.has(current.status);
  };
  for await (const lines of followLines(job.logPath, { from: end, isFinished, signal: ctx.subscriptionSignal })) {
    if (lines.length > 0) yield { jobId: id, lines };
  }
}
