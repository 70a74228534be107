import type { FuzzCase } from './fuzz-case.ts';
import { hostileString, invalidUtf8, mixedString, percentEncode, wrongTypedValue, type PayloadContext } from './payloads.ts';
import type { Prng } from './prng.ts';
import type { RawRequest } from './raw-http.ts';

/** The schema as introspection shows it to any client (black-box). */
export interface SchemaModel {
  types: Map<string, { kind: string; fields: FieldModel[]; inputFields: ArgModel[]; enumValues: string[] }>;
  roots: { query: string; mutation?: string; subscription?: string };
}
interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface FieldModel {
  name: string;
  args: ArgModel[];
  type: TypeRef;
}
interface ArgModel {
  name: string;
  type: TypeRef;
}

export const introspectionQuery = `{ __schema { queryType { name } mutationType { name } subscriptionType { name }
  types { kind name enumValues { name } inputFields { name type { ...T } } fields { name args { name type { ...T } } type { ...T } } } } }
  fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }`;

export function schemaModel(data: any): SchemaModel {
  const types: SchemaModel['types'] = new Map();
  for (const t of data.__schema.types) {
    types.set(t.name, { kind: t.kind, fields: t.fields ?? [], inputFields: t.inputFields ?? [], enumValues: (t.enumValues ?? []).map((e: { name: string }) => e.name) });
  }
  const s = data.__schema;
  return { types, roots: { query: s.queryType.name, mutation: s.mutationType?.name, subscription: s.subscriptionType?.name } };
}

const named = (ref: TypeRef): TypeRef => (ref.ofType ? named(ref.ofType) : ref);
const isList = (ref: TypeRef): boolean => ref.kind === 'LIST' || (ref.kind === 'NON_NULL' && isList(ref.ofType!));

export interface GraphqlWorld extends PayloadContext {
  apiKey: string;
  bodyLimitBytes: number;
  schema: SchemaModel;
  jobIds: string[];
}

/** Mutations that may start work: their valid calls share the REST job budget. */
const quietMutations = new Set(['refreshIlabModels', 'reconcileVllmServers']);

/** A GraphQL literal for an argument: mostly hostile, sometimes the right type. */
function literal(rng: Prng, w: GraphqlWorld, ref: TypeRef, depth = 0): string {
  if (rng.chance(0.2)) return rng.pick(['null', '1', '-1', '1.5', '"x"', 'true', '[]', '{}', 'ENUM_X', '99999999999999999999', '$undefinedVar', '"\\u0000"', '"\\ud800"']);
  const base = named(ref);
  if (isList(ref) && depth < 3) return `[${Array.from({ length: rng.int(0, 3) }, () => literal(rng, w, base, depth + 1)).join(',')}]`;
  const type = w.schema.types.get(base.name ?? '');
  switch (base.name) {
    case 'Int':
      return String(rng.pick([0, -1, 1, 2 ** 31, -(2 ** 31) - 1, 100_000, 1_000_000_000, 50]));
    case 'Float':
      return rng.pick(['1.5', '1e308', '-0.0', '1e-400']);
    case 'Boolean':
      return rng.pick(['true', 'false']);
    case 'ID':
      return JSON.stringify(w.jobIds.length > 0 && rng.chance(0.4) ? rng.pick(w.jobIds) : mixedString(rng, w));
    case 'String':
      return JSON.stringify(mixedString(rng, w));
  }
  if (type?.kind === 'ENUM') return rng.chance(0.8) ? rng.pick(type.enumValues) : rng.pick(['NOPE', 'queued', '"queued"']);
  if (type?.kind === 'INPUT_OBJECT' && depth < 4) {
    const fields = type.inputFields.filter(() => rng.chance(0.8)).map((f) => `${f.name}: ${literal(rng, w, f.type, depth + 1)}`);
    if (rng.chance(0.2)) fields.push(`${rng.pick(['extra', '__proto__', 'constructor'])}: 1`);
    return `{${fields.join(', ')}}`;
  }
  return JSON.stringify(mixedString(rng, w));
}

/** A selection set for `typeName`, `depth` levels deep at most. */
function selection(rng: Prng, w: GraphqlWorld, typeName: string, depth: number): string {
  const type = w.schema.types.get(typeName);
  if (!type || type.fields.length === 0) return '';
  const picked = type.fields.filter(() => rng.chance(0.5));
  if (picked.length === 0) picked.push(type.fields[0]);
  const parts: string[] = [];
  for (const field of picked) {
    const target = w.schema.types.get(named(field.type).name ?? '');
    const composite = target && (target.kind === 'OBJECT' || target.kind === 'INTERFACE' || target.kind === 'UNION');
    if (composite && depth <= 0) continue;
    const args = field.args.filter((a) => a.type.kind === 'NON_NULL' || rng.chance(0.4)).map((a) => `${a.name}: ${literal(rng, w, a.type)}`);
    const sub = composite ? selection(rng, w, named(field.type).name!, depth - 1) : '';
    if (composite && !sub) continue;
    parts.push(`${rng.chance(0.1) ? `a${rng.int(0, 9)}: ` : ''}${field.name}${args.length ? `(${args.join(', ')})` : ''}${sub ? ` { ${sub} }` : ''}`);
  }
  return parts.length > 0 ? parts.join(' ') : '__typename';
}

/** A random operation on a random root field, arguments mostly hostile. */
function randomOperation(rng: Prng, w: GraphqlWorld): { query: string; operation: 'query' | 'mutation' | 'subscription' } {
  const operation = rng.weighted<'query' | 'mutation' | 'subscription'>([
    [6, 'query'],
    [w.schema.roots.mutation ? 3 : 0, 'mutation'],
    [w.schema.roots.subscription ? 2 : 0, 'subscription'],
  ]);
  const root = w.schema.types.get(w.schema.roots[operation]!)!;
  let field = rng.pick(root.fields);
  // A mutation with only valid arguments could start real work every time: keep those rare.
  if (operation === 'mutation' && !quietMutations.has(field.name) && field.args.length === 0 && rng.chance(0.9)) field = root.fields.find((f) => f.args.length > 0) ?? field;
  const args = field.args.map((a) => `${a.name}: ${literal(rng, w, a.type)}`);
  const target = named(field.type).name!;
  const sub = w.schema.types.get(target)?.fields.length ? ` { ${selection(rng, w, target, rng.int(1, 3))} }` : '';
  return { query: `${operation} ${rng.chance(0.5) ? `Fuzz${rng.int(0, 99)} ` : ''}{ ${field.name}${args.length ? `(${args.join(', ')})` : ''}${sub} }`, operation };
}

type GraphqlKind = 'random-op' | 'deep-selection' | 'aliases' | 'fragments' | 'directives' | 'deep-literal' | 'variables' | 'malformed-body' | 'parse-garbage' | 'oversize' | 'batch' | 'introspection';

const kinds: readonly (readonly [number, GraphqlKind])[] = [
  [10, 'random-op'],
  [2, 'deep-selection'],
  [2, 'aliases'],
  [2, 'fragments'],
  [1, 'directives'],
  [2, 'deep-literal'],
  [3, 'variables'],
  [3, 'malformed-body'],
  [3, 'parse-garbage'],
  [1, 'oversize'],
  [1, 'batch'],
  [1, 'introspection'],
];

function nestedArray(depth: number): unknown {
  let value: unknown = null;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** One request to `/graphql`: POST (JSON or other bodies) or GET with a query string. */
export function graphqlCase(rng: Prng, w: GraphqlWorld): FuzzCase {
  const kind = rng.weighted(kinds);
  let query: string;
  let operation: string = 'query';
  let variables: unknown;
  let rawBody: Buffer | undefined;
  switch (kind) {
    case 'random-op':
      ({ query, operation } = randomOperation(rng, w));
      break;
    case 'deep-selection': {
      const depth = rng.pick([20, 100, 1000, 5000]);
      query = rng.chance(0.5)
        ? `{ jobs(first: 2) { edges { node { ${'children { '.repeat(depth)}id${' }'.repeat(depth)} } } } }`
        : `{ __schema { types { ${'fields { type { '.repeat(Math.min(depth, 2000))}name${' } }'.repeat(Math.min(depth, 2000))} } } }`;
      break;
    }
    case 'aliases': {
      const n = rng.pick([100, 1000, 10_000, 40_000]);
      const field = rng.pick(['daemon { version }', 'plugins { id status }', 'jobs(first: 50) { edges { node { id log(tail: 100) } } }', '__typename', 'gpus { index }', 'ilabModels { name }']);
      query = `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;
      break;
    }
    case 'fragments': {
      const style = rng.pick(['cycle', 'bomb', 'many']);
      if (style === 'cycle') query = 'query { ...A } fragment A on Query { ...B } fragment B on Query { ...A daemon { version } }';
      else if (style === 'bomb') {
        const levels = rng.pick([10, 20, 30]);
        const frags = [`fragment F0 on Query { daemon { version } plugins { id } }`];
        for (let i = 1; i <= levels; i++) frags.push(`fragment F${i} on Query { ...F${i - 1} ...F${i - 1} a${i}: daemon { version } }`);
        query = `{ ...F${levels} } ${frags.join(' ')}`;
      } else {
        const n = rng.pick([100, 2000]);
        query = `{ ${Array.from({ length: n }, (_, i) => `...G${i}`).join(' ')} } ${Array.from({ length: n }, (_, i) => `fragment G${i} on Query { x${i}: daemon { version } }`).join(' ')}`;
      }
      break;
    }
    case 'directives': {
      const n = rng.pick([100, 5000, 30_000]);
      query = `{ daemon ${'@skip(if: false) '.repeat(n)}{ version ${'@include(if: true) '.repeat(Math.min(n, 100))} } }`;
      break;
    }
    case 'deep-literal': {
      const depth = rng.pick([100, 1000, 10_000, 50_000]);
      query = rng.chance(0.5) ? `{ job(id: ${'['.repeat(depth)}"x"${']'.repeat(depth)}) { id } }` : `mutation { startVllmServer(input: ${'{name: '.repeat(depth)}"x"${'}'.repeat(depth)}) { name } }`;
      break;
    }
    case 'variables': {
      query = rng.pick([
        'query($id: ID!) { job(id: $id) { id status log(tail: 10) } }',
        'query($first: Int, $status: JobStatus, $after: String) { jobs(first: $first, status: $status, after: $after) { edges { node { id } } } }',
        'mutation($input: StartVllmServerInput!) { startVllmServer(input: $input) { name } }',
        'mutation($m: String!, $y: String!) { runIlabQnaEval(modelPath: $m, yamlFile: $y) { outcome } }',
        'query($t: Int) { jobs(first: 1) { edges { node { log(tail: $t) } } } }',
        'mutation($d: String!) { startIlabConvert(modelDir: $d) { jobId } }',
        'query($x: [[[String]]]) { daemon { version } }',
      ]);
      variables = rng.pick<() => unknown>([
        () => ({ id: wrongTypedValue(rng, w), first: wrongTypedValue(rng, w), status: wrongTypedValue(rng, w), after: wrongTypedValue(rng, w) }),
        () => ({ input: wrongTypedValue(rng, w), m: mixedString(rng, w), y: mixedString(rng, w), d: mixedString(rng, w), t: rng.pick([-1, 0, 2 ** 31, 1e9, 1.5]) }),
        () => ({ input: { name: mixedString(rng, w), modelPath: hostileString(rng, w, 'traversal'), extra: 1 } }),
        () => ({ x: nestedArray(rng.pick([100, 3000])) }),
        () => rng.pick(['string', 42, [], null, true]),
      ])();
      break;
    }
    case 'introspection':
      query = rng.chance(0.5) ? introspectionQuery : '{ __type(name: "Job") { fields { name type { name } } } __typename }';
      break;
    default:
      query = '{ daemon { version } }';
  }
  if (kind === 'variables' && variables === undefined) variables = { x: null };

  const get = kind !== 'oversize' && kind !== 'malformed-body' && rng.chance(0.2);
  const headers: RawRequest['headers'] = [['Authorization', `Bearer ${w.apiKey}`]];
  const accept = rng.weighted<string | undefined>([
    [6, 'application/json'],
    [2, 'application/graphql-response+json'],
    [operation === 'subscription' ? 4 : 1, 'text/event-stream'],
    [1, 'multipart/mixed'],
    [1, undefined],
  ]);
  if (accept) headers.push(['Accept', accept]);
  if (rng.chance(0.05)) headers.splice(0, 1);

  if (get) {
    const params = [`query=${percentEncode(query)}`];
    if (variables !== undefined) params.push(`variables=${percentEncode(rng.chance(0.9) ? JSON.stringify(variables) : '{not json')}`);
    if (rng.chance(0.1)) params.push(rng.pick(['operationName=%00', 'extensions=%5B%5D', `query=${percentEncode('{ daemon { version } }')}`, 'query', '%ff=1']));
    if (rng.chance(0.1)) headers.push(['apollo-require-preflight', 'true'], ['x-graphql-yoga-csrf', '1']);
    return { family: 'graphql GET', kind, profile: 'graphql', request: { method: 'GET', target: `/graphql?${params.join('&')}`, headers } };
  }

  if (kind === 'malformed-body') {
    rawBody = rng.pick<() => Buffer>([
      () => Buffer.from(JSON.stringify({ query: '{ daemon { version } }' }).slice(0, rng.int(0, 20))),
      () => Buffer.from(JSON.stringify(rng.pick([{ query: 1 }, { query: null }, { query: ['{a}'] }, { query: { a: 1 } }, { query: '{ daemon { version } }', variables: 'x' }, { query: '{ daemon { version } }', variables: [1] }, { query: '{ daemon { version } }', operationName: 5 }, { query: '{ daemon { version } }', extensions: 'x' }, {}, [], 'str', 7, null]))),
      () => Buffer.concat([Buffer.from('{"query":"{ daemon { version '), rng.pick(invalidUtf8), Buffer.from(' } }"}')]),
      () => Buffer.from(`{"query":"{ daemon { version } }","query":"mutation { refreshIlabModels { name } }"}`),
      () => Buffer.from(`{"query": "{ daemon { version } }", "variables": ${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`),
      () => Buffer.from('query=%7Bdaemon%7Bversion%7D%7D'),
      () => Buffer.from(''),
      () => Buffer.from('\ufeff{"query":"{ daemon { version } }"}'),
    ])();
    const contentType = rng.pick(['application/json', 'application/json; charset=utf-8', 'application/graphql', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=--x', 'application/json; charset=utf-16', '']);
    if (contentType) headers.push(['Content-Type', contentType]);
    return { family: 'graphql POST', kind, profile: 'graphql', request: { method: 'POST', target: '/graphql', headers, body: rawBody } };
  }
  if (kind === 'parse-garbage') {
    query = rng.pick([
      '{',
      '}',
      '{ daemon { version }',
      '{ "unterminated }',
      '{ a(b: """ unterminated block ) }',
      '{ a(b: 1e99999999) }',
      '{ a(b: "\\uD800") }',
      '{ a(b: "\\u{110000}") }',
      'query query query',
      'subscription { a } subscription { b }',
      'query A { a } query A { a }',
      '{ __proto__ }',
      `{ ${'{'.repeat(rng.pick([1000, 50_000]))} }`,
      `{ a${'('.repeat(10_000)} }`,
      `# ${'comment '.repeat(1000)}`,
      '\u0000',
      `{ daemon { version } } ${'#'.repeat(10)}\u2028`,
      `{ ${mixedString(rng, w).replace(/[{}]/g, '')} }`,
    ]);
  }
  if (kind === 'oversize') query = `{ daemon { version } } # ${'x'.repeat(w.bodyLimitBytes + rng.int(1, 8192))}`;
  const payload: Record<string, unknown> = { query };
  if (variables !== undefined) payload.variables = variables;
  if (rng.chance(0.05)) payload.operationName = rng.pick(['Missing', '', 'Fuzz1']);
  const body = kind === 'batch' ? JSON.stringify(Array.from({ length: rng.pick([2, 100, 1000]) }, () => payload)) : JSON.stringify(payload);
  headers.push(['Content-Type', rng.chance(0.9) ? 'application/json' : rng.pick(['application/graphql+json', 'text/plain;charset=UTF-8'])]);
  return { family: 'graphql POST', kind, profile: 'graphql', request: { method: 'POST', target: '/graphql', headers, body: Buffer.from(body), chunked: kind === 'oversize' && rng.chance(0.5) } };
}
