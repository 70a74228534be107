/**
 * Topic-based publish/subscribe for live updates (subscriptions). Plugin-scoped instances
 * prefix every topic with `<pluginId>:`; a topic that already contains `:` is absolute, so a
 * plugin can listen to core topics such as `core:jobs`.
 */
export interface PubSubService {
  publish(topic: string, payload: unknown): void;
  /** Ends when the daemon stops or the consumer returns. */
  subscribe<T = unknown>(topic: string, options?: { capacity?: number }): AsyncIterableIterator<T>;
}
