import { Kind, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { ApiScope } from '../config/schema.ts';

/** `public`: core's own fields anyone may call without a key (`login`, `refreshToken`). */
export type RequiredScope = ApiScope | 'public';

/** What holding a scope lets a caller do: `inference` is beside `read`, under `operate`. */
const grants: Record<ApiScope, ReadonlySet<RequiredScope>> = {
  inference: new Set(['public', 'inference']),
  read: new Set(['public', 'read']),
  operate: new Set(['public', 'inference', 'read', 'operate']),
  admin: new Set(['public', 'inference', 'read', 'operate', 'admin']),
};

const implies = (held: RequiredScope, wanted: RequiredScope): boolean => (held === 'public' ? wanted === 'public' : grants[held].has(wanted));

/** The weakest scope that grants both. */
function both(a: RequiredScope, b: RequiredScope): RequiredScope {
  if (implies(a, b)) return a;
  if (implies(b, a)) return b;
  return 'operate';
}

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
    // The extension raises a field's scope; only core's `public` and `inference` set it lower.
    const wanted: RequiredScope = declared === 'public' || declared === 'inference' ? declared : declared !== undefined && implies(declared, base) ? declared : base;
    scope = scope === undefined ? wanted : both(scope, wanted);
  }
  return scope ?? base;
}

export function hasScope(scopes: ReadonlySet<ApiScope>, wanted: RequiredScope): boolean {
  if (wanted === 'public') return true;
  for (const scope of scopes) if (grants[scope]?.has(wanted)) return true;
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
