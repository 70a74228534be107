import type { Plugin } from 'graphql-yoga';

/**
 * Formats the stack of each parse and validation error at once. yoga caches these errors (its
 * error cache by document text, its validation cache by parsed document) for as long as the
 * document is cached; an error whose stack V8 has not formatted yet keeps every frame's function
 * and receiver alive, and through them the operation's whole context: the request with its
 * variables, or a WebSocket with all its subscriptions. Reading `stack` replaces those frames
 * with a string, so a cached error costs its text only.
 */
export function useDetachedErrorStacks(): Plugin {
  return {
    onParse() {
      return ({ result }) => {
        if (result instanceof Error) void result.stack;
      };
    },
    onValidate() {
      return ({ result }) => {
        for (const error of result) void error.stack;
      };
    },
  };
}
