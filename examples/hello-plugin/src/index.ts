/**
 * An example third-party backplane plugin: a greeting service with a config section, a
 * query, a mutation that runs a job, a scheduled task, a subscription, a legacy REST route and
 * a backend check that degrades the plugin. Installed as a package (`npm install
 * backplane-plugin-hello` next to the config file), enable it with:
 *
 * ```yaml
 * plugins:
 *   hello:
 *     module: backplane-plugin-hello
 *     greeting: Hi
 * ```
 */
import { access } from 'node:fs/promises';
import { definePlugin, InputError, UnavailableError, z } from '@backplane/plugin-api';

const configSchema = z.object({
  greeting: z.string().min(1, 'expected a non-empty greeting').default('Hello'),
  /** How often the plugin publishes a heartbeat, in milliseconds. */
  heartbeatMs: z.number().int('expected an integer').positive('expected positive integer').default(60_000),
  /**
   * A file the plugin needs, standing in for a backend binary or socket: when set and missing,
   * init throws `UnavailableError` and the plugin is reported `degraded`.
   */
  requiresFile: z.string().min(1).optional(),
});

export const helloPlugin = definePlugin({
  id: 'hello',
  version: '1.2.0',
  description: 'Says hello; shows every part of the plugin contract.',
  contract: '^1',
  configSchema,
  // At the package root, so the same URL works from src/ and from the built dist/.
  operations: [new URL('../operations.graphql', import.meta.url)],
  async init({ config, scheduler, pubsub, jobs, logger, lifecycle }) {
    if (config.requiresFile !== undefined && !(await fileExists(config.requiresFile))) {
      throw new UnavailableError(`hello needs ${config.requiresFile}, which does not exist`);
    }
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
      // Bad input is a coded error (here from the plugin's own copy of the contract): the
      // profile answers with its own status and body for BAD_USER_INPUT.
      variables: ({ params }) => {
        if (!/^[\p{L} .'-]{1,64}$/u.test(params.name)) throw new InputError('name must be 1 to 64 letters');
        return { name: params.name };
      },
      reply: (data: { hello: string }) => ({ json: { message: data.hello } }),
    });
  },
});

export default helloPlugin;

async function fileExists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
