import { definePlugin, InputError, NotFoundError, z } from '../../core/plugin-api.ts';

/**
 * Routes for REST engine tests: one echo-like operation served by several legacy profiles,
 * with failures on demand.
 */
export const restTestPlugin = definePlugin({
  id: 'rest-test',
  version: '1.0.0',
  operations: [
    `query RestEcho($name: String!, $count: Int) { restEcho(name: $name, count: $count) }
     mutation RestCreate($input: RestCreateInput!) { restCreate(input: $input) }`,
  ],
  schema(builder) {
    builder.queryField('restEcho', (t) =>
      t.string({
        args: { name: t.arg.string({ required: true, validate: { schema: z.string().max(20) } }), count: t.arg.int({ validate: { schema: z.number().int().min(0).max(1000) } }) },
        resolve: (_root, { name, count }) => {
          if (name === 'missing') throw new NotFoundError('Thing not found');
          if (name === 'crash') throw new Error('database exploded at /secret/path');
          return `${name}${'!'.repeat(count ?? 1)}`;
        },
      }),
    );
    const Input = builder.inputType('RestCreateInput', {
      fields: (t) => ({ name: t.string({ required: true }), size: t.int({ required: true }) }),
    });
    builder.mutationField('restCreate', (t) =>
      t.string({ args: { input: t.arg({ type: Input, required: true }) }, resolve: (_root, { input }) => `${input.name}:${input.size}` }),
    );
  },
  rest(routes) {
    for (const [profile, base] of [['llamactl', '/api/things'], ['training-manager', '/datasets'], ['mlserve', '/api/rest-test'], ['tinker', '/api/v1/things']] as const) {
      routes.add({
        profile,
        method: 'GET',
        path: `${base}/{name}`,
        operation: 'RestEcho',
        variables: (request) => {
          const count = request.query.get('count');
          if (count !== null && !/^\d+$/.test(count)) throw new InputError('count must be a number');
          return { name: request.params.name, count: count === null ? null : Number(count) };
        },
        reply: (data: { restEcho: string }) => ({ json: { value: data.restEcho } }),
      });
      routes.add({
        profile,
        method: 'POST',
        path: base,
        operation: 'RestCreate',
        variables: { input: 'body' },
        reply: (data: { restCreate: string }) => ({ status: 201, json: { created: data.restCreate } }),
      });
    }
  },
});
