import { handleStreamOrSingleExecutionResult, isAsyncIterable, type Plugin } from 'graphql-yoga';

/** A quoted part of a message longer than this is cut: it is the caller's own input echoed. */
const maxQuotedChars = 80;
/** No message is longer than this. */
const maxMessageChars = 500;

/**
 * Shortens an error message that quotes the caller's input: graphql-js names an unknown field,
 * fragment or directive, prints a literal that does not fit its type, and quotes a variable's
 * value whole, so a 1 MB name or string came back as a 1 MB (or, quoted twice, 2 MB) message.
 * Each quoted part keeps its first characters and `…`; the whole message at most 500 characters.
 */
export function capErrorMessage(message: string): string {
  if (message.length <= maxQuotedChars) return message;
  const quotedCut = message.replace(/"((?:[^"\\]|\\.)*)"/g, (whole, inner: string) => (inner.length > maxQuotedChars ? `"${inner.slice(0, maxQuotedChars - 16)}…" (${inner.length} characters)` : whole));
  return quotedCut.length > maxMessageChars ? `${quotedCut.slice(0, maxMessageChars - 1)}…` : quotedCut;
}

function capErrors(errors: readonly unknown[] | undefined): void {
  for (const error of errors ?? []) {
    if (!(error instanceof Error) || error.message.length <= maxQuotedChars) continue;
    // Cached errors (yoga keeps parse and validation errors) are shortened once, in place.
    error.message = capErrorMessage(error.message);
  }
}

/**
 * Envelop plugin: every GraphQL error a client can receive (parse, validation, variable
 * coercion, execution; over HTTP, SSE, graphql-ws and REST routes, which all run through the
 * enveloped pipeline) has its echoed input shortened with {@link capErrorMessage}.
 */
export function useErrorMessageCap(): Plugin {
  return {
    onParse() {
      return ({ result }) => {
        if (result instanceof Error) capErrors([result]);
      };
    },
    onValidate() {
      return ({ result }) => capErrors(result);
    },
    onExecute() {
      return {
        onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, ({ result }) => capErrors(result.errors)),
      };
    },
    onSubscribe() {
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) return void capErrors(result.errors);
          return { onNext: ({ result: next }) => capErrors(next.errors) };
        },
      };
    },
  };
}
