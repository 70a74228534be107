import { Kind, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { ApiScope } from '../config/schema.ts';

const rank: Record<ApiScope, number> = { read: 1, operate: 2, admin: 3 };

/**
 * The scope an operation needs: `read` for queries and subscriptions, `operate` for mutations,
 * raised by any root field that carries the `backplaneScope` extension (see requireScope).
 */
export function requiredScope(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): ApiScope {
  const operation = findOperation(document, operationName);
  if (!operation) return 'read';
  const rootType = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  let scope: ApiScope = operation.operation === 'mutation' ? 'operate' : 'read';
  const fields = rootType?.getFields() ?? {};
  for (const name of rootFieldNames(document, operation.selectionSet)) {
    const wanted = fields[name]?.extensions?.backplaneScope as ApiScope | undefined;
    if (wanted && rank[wanted] > rank[scope]) scope = wanted;
  }
  return scope;
}

export function hasScope(scopes: ReadonlySet<ApiScope>, wanted: ApiScope): boolean {
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
