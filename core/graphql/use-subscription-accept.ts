import { createGraphQLError, type Plugin } from 'graphql-yoga';

/**
 * A subscription over HTTP (GET or POST) is answered only to a client that asks for a stream by
 * name, `Accept: text/event-stream` (yoga streams subscriptions as SSE only). yoga would
 * otherwise send an endless SSE stream to any request, `Accept: *\/*` or none included, such as
 * a proxy forwarding a browser's GET or a script that expects one JSON answer. Others get 406.
 * WebSocket and REST operations carry no Fetch request and are not affected.
 */
export function useSubscriptionAccept(): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (!request) return;
      const types = (request.headers.get('accept') ?? '').toLowerCase().split(',').map((entry) => entry.split(';')[0].trim());
      if (types.includes('text/event-stream')) return;
      setResultAndStopExecution({
        errors: [
          createGraphQLError('A subscription over HTTP needs Accept: text/event-stream', {
            extensions: { code: 'NOT_ACCEPTABLE', http: { status: 406, headers: { accept: 'text/event-stream' } } },
          }),
        ],
      });
    },
  };
}
