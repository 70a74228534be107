import path from 'node:path';
import { definePlugin, z } from '../../core/plugin-api.ts';
import { createChaosService, type ChaosApi } from './chaos-service.ts';

/**
 * The chaos test's plugin (loaded by path, never shipped): starts wrapped payloads as jobs and
 * group jobs through the public job service, as a real plugin would.
 */
export const chaosPlugin = definePlugin({
  id: 'chaos',
  version: '1.0.0',
  description: 'Chaos test payloads (scripts/chaos)',
  configSchema: z.object({ ledger: z.string().refine((p) => path.isAbsolute(p), 'expected an absolute path') }),
  init: (services): ChaosApi => createChaosService(services),
  schema(builder, { api }) {
    const PayloadInput = builder.inputType('ChaosPayloadInput', {
      fields: (t) => ({
        sleepMs: t.int({ required: true }),
        lines: t.int({ required: true, description: 'Lines printed, half before the sleep; every third on stderr.' }),
        exitCode: t.int({ required: true }),
      }),
    });
    builder.mutationFields((t) => ({
      chaosStartJob: t.id({
        args: { tag: t.arg.string({ required: true }), payload: t.arg({ type: PayloadInput, required: true }), longRunning: t.arg.boolean() },
        resolve: async (_root, args, ctx) => (await api(ctx).startJob(args.tag, args.payload, { longRunning: args.longRunning ?? undefined })).id,
      }),
      chaosStartGroup: t.id({
        args: { tag: t.arg.string({ required: true }), steps: t.arg({ type: [PayloadInput], required: true }) },
        resolve: async (_root, args, ctx) => (await api(ctx).startGroup(args.tag, args.steps)).id,
      }),
    }));
  },
});

export default chaosPlugin;
