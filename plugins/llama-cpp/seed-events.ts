import type { GraphQLContext } from '../../core/plugin-api.ts';
import type { LlamaInstanceView } from './instance-registry.ts';
import type { LlamaCppService } from './service.ts';

/** The seed document's WebSocket message types. */
export type SeedEventType = 'instance_status_changed' | 'instance_stats_updated' | 'system_alert';

/** One message of `/api/ws`. */
export interface SeedEvent {
  type: SeedEventType;
  timestamp: Date;
  instance: LlamaInstanceView;
  /** The status before, for `instance_status_changed`. */
  previousStatus: string | null;
  /** For `system_alert`: `warn` or `error`. */
  level: string | null;
  /** For `system_alert`: what happened. */
  message: string | null;
}

/**
 * Every instance's status changes (its current status first), its stats every
 * `statsIntervalMs` while starting or running, and alerts: a crash or hang (`restarting`), a
 * `failed` instance, and failing health probes. Ends when `signal` aborts.
 */
export async function* seedEvents(ctx: GraphQLContext, service: LlamaCppService, statsIntervalMs: number, signal: AbortSignal): AsyncGenerator<SeedEvent> {
  const updates = ctx.subscribe<LlamaInstanceView>(service.topic);
  const queue: SeedEvent[] = [];
  let wake: (() => void) | undefined;
  const push = (event: SeedEvent) => {
    queue.push(event);
    wake?.();
  };
  const last = new Map<string, { status: string; failureCount: number }>();
  const event = (type: SeedEventType, instance: LlamaInstanceView, extra: Partial<SeedEvent> = {}): SeedEvent => ({ type, timestamp: new Date(), instance, previousStatus: null, level: null, message: null, ...extra });

  for (const view of service.list()) {
    last.set(view.name, { status: view.status, failureCount: view.health.failureCount });
    push(event('instance_status_changed', view));
  }
  const timer = setInterval(() => {
    for (const view of service.list()) if (view.status === 'running' || view.status === 'starting') push(event('instance_stats_updated', view));
  }, statsIntervalMs);
  let ended = false;
  const stop = () => {
    ended = true;
    void updates.return?.();
    wake?.();
  };
  signal.addEventListener('abort', stop, { once: true });
  void (async () => {
    for await (const view of updates) {
      const before = last.get(view.name);
      last.set(view.name, { status: view.status, failureCount: view.health.failureCount });
      if (before?.status !== view.status) {
        push(event('instance_status_changed', view, { previousStatus: before?.status ?? null }));
        if (view.status === 'restarting') push(event('system_alert', view, { level: 'warn', message: `Instance '${view.name}' is restarting: ${view.message ?? 'it stopped unexpectedly'}` }));
        if (view.status === 'failed') push(event('system_alert', view, { level: 'error', message: `Instance '${view.name}' failed: ${view.message ?? 'unknown reason'}` }));
      } else if (view.health.failureCount > 0 && view.health.failureCount !== before?.failureCount && view.status === 'running') {
        push(event('system_alert', view, { level: 'warn', message: `Instance '${view.name}' failed ${view.health.failureCount} health check(s) in a row${view.health.error ? `: ${view.health.error}` : ''}` }));
      }
    }
    stop();
  })();
  try {
    while (!signal.aborted && !(ended && queue.length === 0)) {
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (ended) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    clearInterval(timer);
    signal.removeEventListener('abort', stop);
    void updates.return?.();
  }
}
