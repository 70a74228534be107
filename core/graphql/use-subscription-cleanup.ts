import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from './context.ts';

/**
 * Ends what a subscription's resolvers opened as soon as its stream ends: the client went away
 * (SSE request aborted, WebSocket closed), sent `complete`, or the stream finished or failed.
 *
 * A resolver written as an async generator (`for await (const job of ctx.subscribe(topic))`)
 * cannot be interrupted while it waits for the next event: JavaScript queues the transport's
 * `return()` behind that wait. Without this plugin such a generator, its pubsub queue and all
 * that its operation holds (the WebSocket's context with every subscription of the socket, the
 * request and its variables) stay in memory until the topic next publishes, and forever for a
 * quiet topic. Here each subscription operation gets its own `ctx.subscribe`, whose queues are
 * closed when the stream ends, and a `ctx.subscriptionSignal` that aborts then (for resolvers
 * that wait on something else, such as a log file); the waiting generator wakes, runs its
 * `finally` and ends.
 */
export function useSubscriptionCleanup(): Plugin {
  return {
    onSubscribe({ args, extendContext }) {
      const subscribe = (args.contextValue as Partial<GraphQLContext>).subscribe;
      if (!subscribe) return;
      const opened = new Set<AsyncIterator<unknown>>();
      const controller = new AbortController();
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        controller.abort();
        for (const queue of opened) void queue.return?.();
        opened.clear();
      };
      const ownSubscribe = <T>(topic: string): AsyncIterableIterator<T> => {
        const queue = subscribe<T>(topic);
        if (ended) void queue.return?.();
        else opened.add(queue);
        return queue;
      };
      const extension: Partial<GraphQLContext> = { subscribe: ownSubscribe, subscriptionSignal: controller.signal };
      extendContext(extension as never);
      return {
        onSubscribeResult({ result }) {
          // An error result (validation, scopes, a resolver that threw) is no stream at all.
          if (!(Symbol.asyncIterator in Object(result))) return void end();
          return { onEnd: end };
        },
        onSubscribeError: end,
      };
    },
  };
}
