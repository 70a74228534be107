import { Kind, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { ApiScope } from '../config/schema.ts';

/** `public`: core's own fields anyone may call without a key (`login`, `refreshToken`). */
export type RequiredScope = ApiScope | 'public';

const rank: Record<RequiredScope, number> = { public: 0, read: 1, operate: 2, admin: 3 };

/**
 * The scope an operation needs: the highest of its root fields', where a field needs `read`
 * (query, subscription) or `operate` (mutation) unless its `backplaneScope` extension asks for
 * more (see requireScope). An operation of only `public` fields needs no scope at all.
 */
export function requiredScope(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): RequiredScope {
  const operation = findOperation(document, operationName);
  if (!operation) return 'read';
  const rootType = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  const base: ApiScope = operation.operation === 'mutation' ? 'operate' : 'read';
  let scope: RequiredScope | undefined;
  const fields = rootType?.getFields() ?? {};
  for (const name of rootFieldNames(document, operation.selectionSet)) {
    const declared = fields[name]?.extensions?.backplaneScope as RequiredScope | undefined;
    // The extension raises a field's scope; only core's `public` lowers it.
    const wanted: RequiredScope = declared === 'public' ? 'public' : declared !== undefined && rank[declared] > rank[base] ? declared : base;
    if (scope === undefined || rank[wanted] > rank[scope]) scope = wanted;
  }
  return scope ?? base;
}

export function hasScope(scopes: ReadonlySet<ApiScope>, wanted: RequiredScope): boolean {
  if (wanted === 'public') return true;
  for (const scope of scopes) if (rank[scope] >= rank[wanted]) return true;
  return false;
}

function findOperation(document: DocumentNode, operationName?: string | null): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName) return operations.find((op) => op.name?.value === operationName);
  return operations.length === 1 ? operations[0] : undefined;
}

function rootFieldNames(document: DocumentNode, selectionSet: SelectionSetNode, seen = new Set<string>()): string[] {
  const names: string[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) names.push(selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT) names.push(...rootFieldNames(document, selection.selectionSet, seen));
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value);
      if (fragment && fragment.kind === Kind.FRAGMENT_DEFINITION) names.push(...rootFieldNames(document, fragment.selectionSet, seen));
    }
  }
  return names;
}
