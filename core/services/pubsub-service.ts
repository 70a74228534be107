import type { PubSubService } from '../../packages/plugin-api/src/services/pubsub.ts';
import { AsyncQueue } from '../util/async-queue.ts';

export type { PubSubService } from '../../packages/plugin-api/src/services/pubsub.ts';

/** The root bus: one per daemon. */
export interface RootPubSub extends PubSubService {
  forPlugin(pluginId: string): PubSubService;
  /** Completes every open subscription (graceful shutdown). */
  close(): void;
}

export function createPubSub(): RootPubSub {
  const topics = new Map<string, Set<AsyncQueue<unknown>>>();
  let closed = false;

  const publish = (topic: string, payload: unknown) => {
    const subscribers = topics.get(topic);
    if (!subscribers) return;
    for (const queue of subscribers) queue.push(payload);
  };

  const subscribe = <T>(topic: string, { capacity = 10_000 } = {}): AsyncIterableIterator<T> => {
    let subscribers = topics.get(topic);
    if (!subscribers) {
      subscribers = new Set();
      topics.set(topic, subscribers);
    }
    const set = subscribers;
    const queue: AsyncQueue<unknown> = new AsyncQueue<unknown>(capacity, () => {
      set.delete(queue);
      if (set.size === 0 && topics.get(topic) === set) topics.delete(topic);
    });
    if (closed) queue.close();
    else set.add(queue);
    return queue as AsyncQueue<T>;
  };

  return {
    publish,
    subscribe,
    forPlugin(pluginId) {
      const own = (topic: string) => (topic.startsWith(`${pluginId}:`) ? topic : `${pluginId}:${topic}`);
      const scoped = (topic: string) => (topic.includes(':') ? topic : `${pluginId}:${topic}`);
      return {
        // Publishing is always confined to the plugin's own namespace.
        publish: (topic, payload) => publish(own(topic), payload),
        subscribe: (topic, options) => subscribe(scoped(topic), options),
      };
    },
    close() {
      closed = true;
      for (const set of topics.values()) for (const queue of [...set]) queue.close();
      topics.clear();
    },
  };
}
