import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import {
  BREAK,
  getLocation,
  getVariableValues,
  GraphQLError,
  Kind,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../services/logger-service.ts';

export interface CompiledExecutionOptions {
  logger: Logger;
  /** Compiled operations kept, least recently used first out (each holds generated code). */
  maxEntries?: number;
  /** Documents longer than this run uncompiled: compiling costs more than one execution. */
  maxDocumentChars?: number;
  /** Executions of the same document before it is compiled; one-off documents never are. */
  compileAfterRuns?: number;
}

interface Compiled {
  schema: GraphQLSchema;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  query: CompiledQuery['query'];
  /** The document's fields by `line:column`, to give compiled errors their nodes back. */
  fields?: Map<string, FieldNode>;
}

/** graphql-jit prints this for every literal argument of a graphql 17 scalar; see `compile`. */
const literalWarning = 'Scalar with variable inputs detected for parsing AST literals. This is not supported.';

/**
 * Envelop plugin: runs a query or mutation through graphql-jit's compiled executor once its
 * document has run `compileAfterRuns` times. yoga's executor spends ~0.5 µs per field, which
 * dominates large listings such as the legacy `GET /jobs` (see docs/performance.md). It applies
 * wherever `execute` runs (yoga, the JSON fast path, the REST layer); subscriptions, and
 * documents graphql-jit 0.8 does not execute as graphql-js 17 does, stay uncompiled (see
 * `compilable`). Results are made the same as graphql-js's: variables that do not coerce go to
 * graphql-js, which reports them, and compiled errors get their AST nodes back (so masking
 * keeps their locations) and come first in the result, as graphql-js puts them (their order
 * among themselves can differ: graphql-jit lists nulls in non-null fields last).
 */
export function useCompiledExecution({ logger, maxEntries = 100, maxDocumentChars = 8 * 1024, compileAfterRuns = 2 }: CompiledExecutionOptions): Plugin {
  const runs = new WeakMap<DocumentNode, number>();
  const uncompilable = new WeakSet<DocumentNode>();
  // A Map keeps insertion order: re-inserting marks the most recent, the first key is the oldest.
  const compiled = new Map<DocumentNode, Compiled>();

  const lookup = ({ schema, document, operationName }: ExecutionArgs): Compiled | undefined => {
    const hit = compiled.get(document);
    if (hit) {
      if (hit.schema !== schema || (operationName != null && operationName !== hit.operation.name?.value)) return undefined;
      compiled.delete(document);
      compiled.set(document, hit);
      return hit;
    }
    if (uncompilable.has(document)) return undefined;
    const operation = compilable(document, maxDocumentChars);
    if (!operation) {
      uncompilable.add(document);
      return undefined;
    }
    // graphql-js reports the unknown operation name.
    if (operationName != null && operation.name?.value !== operationName) return undefined;
    const count = (runs.get(document) ?? 0) + 1;
    if (count < compileAfterRuns) {
      runs.set(document, count);
      return undefined;
    }
    runs.delete(document);
    const entry = compile(schema, document, operation, logger);
    if (!entry) {
      uncompilable.add(document);
      return undefined;
    }
    compiled.set(document, entry);
    if (compiled.size > maxEntries) compiled.delete(compiled.keys().next().value!);
    logger.debug('GraphQL operation compiled', { operation: operation.name?.value ?? null, compiled: compiled.size });
    return entry;
  };

  return {
    onExecute({ args, setExecuteFn }) {
      const entry = lookup(args);
      if (!entry) return;
      const definitions = entry.operation.variableDefinitions ?? [];
      if (definitions.length > 0 && 'errors' in getVariableValues(args.schema, definitions, args.variableValues ?? {}, { maxErrors: 1 })) return;
      setExecuteFn((execution) => {
        const result = entry.query(execution.rootValue, execution.contextValue, execution.variableValues ?? {});
        return isPromiseLike(result) ? result.then((r) => asGraphQLJsResult(entry, r)) : asGraphQLJsResult(entry, result);
      });
    },
  };
}

/**
 * The document's only operation when graphql-jit can run it as graphql-js would: one query or
 * mutation, not too long, no introspection (graphql-jit 0.8 ignores graphql 17's argument
 * defaults, which the introspection fields use), no directive but `@skip`/`@include`, and no
 * variable inside a list or object literal (graphql-jit parses those literals of a scalar such
 * as `JSON` without the variables).
 */
function compilable(document: DocumentNode, maxChars: number): OperationDefinitionNode | undefined {
  let operation: OperationDefinitionNode | undefined;
  let length = 0;
  for (const definition of document.definitions) {
    // The REST layer's documents have no `loc` of their own, only their definitions.
    if (!definition.loc) return undefined;
    length += definition.loc.end - definition.loc.start;
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    if (operation) return undefined;
    operation = definition;
  }
  if (!operation || length > maxChars || operation.operation === 'subscription') return undefined;
  let supported = true;
  let literalDepth = 0;
  const refuse = () => {
    supported = false;
    return BREAK;
  };
  visit(document, {
    Field: (node) => (node.name.value === '__schema' || node.name.value === '__type' ? refuse() : undefined),
    Directive: (node) => (node.name.value === 'skip' || node.name.value === 'include' ? undefined : refuse()),
    ListValue: { enter: () => void literalDepth++, leave: () => void literalDepth-- },
    ObjectValue: { enter: () => void literalDepth++, leave: () => void literalDepth-- },
    Variable: () => (literalDepth > 0 ? refuse() : undefined),
  });
  return supported ? operation : undefined;
}

function compile(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, logger: Logger): Compiled | undefined {
  // graphql-jit warns when a scalar's parseLiteral takes variables, which every graphql 17
  // scalar's does; `compilable` keeps variables out of literals, so the warning says nothing here.
  const consoleError = console.error;
  console.error = (...args: unknown[]) => {
    if (args[0] !== literalWarning) consoleError(...args);
  };
  let result: CompiledQuery | ExecutionResult;
  try {
    result = compileQuery(schema, document, operation.name?.value);
  } finally {
    console.error = consoleError;
  }
  if (!isCompiledQuery(result)) {
    logger.warn('GraphQL operation could not be compiled; it runs uncompiled', { operation: operation.name?.value ?? null, errors: result.errors?.map((e) => e.message) });
    return undefined;
  }
  return { schema, document, operation, query: result.query.bind(result) };
}

/** Errors first, as graphql-js orders them, each with its field nodes (graphql-jit keeps only their locations). */
function asGraphQLJsResult(entry: Compiled, result: ExecutionResult): ExecutionResult {
  if (!result.errors || result.errors.length === 0) return result;
  const errors = result.errors.map((error) => withNodes(entry, error));
  return 'data' in result ? { errors, data: result.data } : { errors };
}

/** graphql-jit's own errors (not GraphQLError instances in full: no nodes, a read-only message), rebuilt. */
function withNodes(entry: Compiled, error: GraphQLError): GraphQLError {
  if (error.nodes !== undefined) return error;
  const locations = error.locations ?? [];
  if (locations.length > 0) entry.fields ??= fieldsByLocation(entry.document);
  const nodes = locations.map((l) => entry.fields!.get(`${l.line}:${l.column}`)).filter((n): n is FieldNode => n !== undefined);
  return new GraphQLError(error.message, {
    nodes: nodes.length > 0 && nodes.length === locations.length ? nodes : undefined,
    path: error.path,
    // graphql-jit makes some errors itself: a null in a non-null field (graphql-js throws a
    // plain Error there, which masking hides as unexpected), a scalar that fails to serialize
    // (its error reduced to the message). Both are bugs of the server, so both stay masked.
    originalError: error.originalError ?? new Error(error.message),
  });
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

function fieldsByLocation(document: DocumentNode): Map<string, FieldNode> {
  const fields = new Map<string, FieldNode>();
  visit(document, {
    Field(node) {
      if (!node.loc) return;
      const { line, column } = getLocation(node.loc.source, node.loc.start);
      fields.set(`${line}:${column}`, node);
    },
  });
  return fields;
}
