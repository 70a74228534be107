/**
 * An example third-party backplane plugin: a greeting service with a config section, a
 * query, a mutation that runs a job, a scheduled task, a subscription and a legacy REST route.
 * Enable it with:
 *
 * ```yaml
 * plugins:
 *   hello:
 *     module: ./examples/hello-plugin/index.ts
 *     greeting: Hi
 * ```
 */
import { definePlugin, InputError, z } from 'backplane/plugin-api';

const configSchema = z.object({
  greeting: z.string().min(1, 'expected a non-empty greeting').default('Hello'),
  /** How often the plugin publishes a heartbeat, in milliseconds. */
  heartbeatMs: z.number().int('expected an integer').positive('expected positive integer').default(60_000),
});

export const helloPlugin = definePlugin({
  id: 'hello',
  version: '1.2.0',
  description: 'Says hello; shows every part of the plugin contract.',
  contract: '^1',
  configSchema,
  operations: [new URL('./operations.graphql', import.meta.url)],
  init({ config, scheduler, pubsub, jobs, logger, lifecycle }) {
    let beats = 0;
    scheduler.schedule({
      id: 'heartbeat',
      everyMs: config.heartbeatMs,
      run: () => {
        beats++;
        pubsub.publish('heartbeat', beats);
      },
    });
    lifecycle.onShutdown(() => logger.info('hello plugin stopping', { beats }));
    return {
      greet: (name: string) => `${config.greeting}, ${name}!`,
      beats: () => beats,
      heartbeats: () => pubsub.subscribe<number>('heartbeat'),
      echoJob: (text: string) => jobs.start({ idPrefix: 'h', kind: 'echo', command: 'echo', args: [text] }),
    };
  },
  schema(builder, { api }) {
    builder.queryField('hello', (t) =>
      t.string({
        description: 'A greeting from the example plugin.',
        args: { name: t.arg.string({ required: true, validate: { schema: z.string().min(1).max(64) } }) },
        resolve: (_root, { name }, ctx) => api(ctx).greet(name),
      }),
    );
    builder.mutationField('helloEcho', (t) =>
      t.id({
        description: 'Runs `echo <text>` as a job; returns the job id.',
        args: { text: t.arg.string({ required: true, validate: { schema: z.string().max(200) } }) },
        resolve: async (_root, { text }, ctx) => {
          if (text.trim() === '') throw new InputError('text must not be blank');
          return (await api(ctx).echoJob(text)).id;
        },
      }),
    );
    builder.subscriptionField('helloHeartbeat', (t) =>
      t.int({ subscribe: (_root, _args, ctx) => api(ctx).heartbeats(), resolve: (beat) => beat }),
    );
  },
  rest(routes) {
    routes.add({
      profile: 'llamactl',
      method: 'GET',
      path: '/api/hello/{name}',
      operation: 'HelloGreeting',
      variables: { name: 'params.name' },
      reply: (data: { hello: string }) => ({ json: { message: data.hello } }),
    });
  },
});

export default helloPlugin;
