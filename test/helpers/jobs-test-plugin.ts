import { definePlugin } from '../../core/plugin-api.ts';
import { fixtureBin } from './fixtures.ts';

/** Parses `step 2/4` lines into progress. */
export function stepProgress(line: string) {
  const match = /step (\d+)\/(\d+)/.exec(line);
  return match ? { fraction: Number(match[1]) / Number(match[2]), message: `step ${match[1]} of ${match[2]}` } : undefined;
}

/**
 * A plugin for tests only: starts fixture commands as jobs through the public job service,
 * the way a real plugin would.
 */
export const jobsTestPlugin = definePlugin({
  id: 'jobs-test',
  version: '1.0.0',
  init: (services) => {
    services.jobs.registerProgressParser('steps', () => stepProgress);
    return { jobs: services.jobs };
  },
  schema(builder, { api }) {
    builder.mutationField('testStartJob', (t) =>
      t.id({
        args: {
          fixture: t.arg.string({ required: true }),
          command: t.arg.string(),
          args: t.arg.stringList({ required: true }),
          kind: t.arg.string(),
          gpuIndices: t.arg.intList(),
          parentId: t.arg.string(),
          longRunning: t.arg.boolean(),
          env: t.arg({ type: 'JSON', description: 'Variables the job asks for, `{ NAME: value }`.' }),
        },
        resolve: async (_root, args, ctx) => {
          const job = await api(ctx).jobs.start({
            idPrefix: 't',
            kind: args.kind ?? 'test',
            command: args.command ?? fixtureBin(args.fixture),
            args: args.args,
            labels: { fixture: args.fixture },
            gpus: args.gpuIndices ? { indices: args.gpuIndices } : undefined,
            parentId: args.parentId ?? undefined,
            longRunning: args.longRunning ?? undefined,
            env: (args.env as Record<string, string> | null) ?? undefined,
          });
          return job.id;
        },
      }),
    );
  },
});

export default jobsTestPlugin;
