import { expect, test } from 'vitest';
import { createProcessService } from '../../core/services/process-service.ts';
import type { VllmContext } from './context.ts';
import { LogStreams } from './log-streams.ts';
import type { ServerState } from './server-registry.ts';

const state = { name: 'pre-train', containerId: 'c0ffee', jobId: 'v-1', desired: 'running', status: 'running', logCursor: null } as unknown as ServerState;

test('a stream that ends at once while the container runs is not respawned in a loop', async () => {
  const controller = new AbortController();
  // `/bin/true` as podman: every `podman logs --follow` ends immediately, with no output.
  const ctx = {
    signal: controller.signal,
    processes: createProcessService({ signal: controller.signal }),
    podman: { path: '/bin/true' },
    jobs: { appendLog: async () => undefined },
    registry: { get: () => state, saveCursor: async () => undefined },
  } as unknown as VllmContext;
  let ended = 0;
  const streams = new LogStreams(ctx, {
    onEnded: async () => {
      ended++;
      // What the monitor does when the container still runs: follow again.
      streams.follow(state);
    },
    onReadyHint: () => undefined,
  });
  streams.follow(state);
  await new Promise((resolve) => setTimeout(resolve, 600));
  controller.abort();
  // Without the back-off this would be dozens; the second attach waits a second.
  expect(ended).toBe(1);
  expect(streams.isFollowing('pre-train')).toBe(false);
});
