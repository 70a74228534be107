import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configSchema } from '../core/config/schema.ts';
import { createDaemon, type Daemon } from '../core/daemon.ts';
import { resolvePlugins } from '../core/kernel/load-plugins.ts';
import { definePlugin, NotFoundError, requireScope, z } from '../core/plugin-api.ts';
import { createLogger } from '../core/services/logger-service.ts';
import { jobsTestPlugin } from './helpers/jobs-test-plugin.ts';
import { waitFor } from './helpers/wait-for.ts';

interface Shape {
  name: string;
  sides?: number;
  radius?: number;
}

/** Fields for every way a result can go: coded and unexpected errors, nulls, scalars, abstract types. */
const probe = definePlugin({
  id: 'jit-probe',
  version: '1.0.0',
  schema(builder) {
    const Item = builder.objectRef<{ n: number }>('JitItem').implement({
      fields: (t) => ({
        n: t.exposeInt('n'),
        // Non-null by default: a null here nulls the item (null propagation).
        label: t.string({ resolve: ({ n }) => (n === 2 ? (null as never) : `item ${n}`) }),
        coded: t.string({
          nullable: true,
          resolve: async ({ n }) => {
            if (n === 3) throw new NotFoundError(`item ${n} is gone`);
            return 'here';
          },
        }),
      }),
    });
    const Named = builder.interfaceRef<Shape>('JitNamed').implement({ fields: (t) => ({ name: t.exposeString('name') }) });
    const Polygon = builder.objectRef<Shape>('JitPolygon').implement({ interfaces: [Named], isTypeOf: (v) => (v as Shape).sides !== undefined, fields: (t) => ({ sides: t.exposeInt('sides' as never) }) });
    const Circle = builder.objectRef<Shape>('JitCircle').implement({ interfaces: [Named], isTypeOf: (v) => (v as Shape).radius !== undefined, fields: (t) => ({ radius: t.exposeFloat('radius' as never) }) });
    const Figure = builder.unionType('JitFigure', { types: [Polygon, Circle], resolveType: (v) => (v.sides !== undefined ? 'JitPolygon' : 'JitCircle') });
    const shapes: Shape[] = [
      { name: 'square', sides: 4 },
      { name: 'disc', radius: 1.5 },
    ];
    builder.queryField('jitItems', (t) => t.field({ type: [Item], nullable: { list: false, items: true }, resolve: () => [1, 2, 3, 4].map((n) => ({ n })) }));
    builder.queryField('jitRequired', (t) => t.field({ type: Item, resolve: () => ({ n: 2 }) }));
    builder.queryField('jitOptional', (t) => t.field({ type: Item, nullable: true, resolve: () => ({ n: 2 }) }));
    builder.queryField('jitExplode', (t) =>
      t.string({
        nullable: true,
        resolve: () => {
          throw new Error('secret detail');
        },
      }),
    );
    builder.queryField('jitNamed', (t) => t.field({ type: [Named], resolve: () => shapes }));
    builder.queryField('jitFigures', (t) => t.field({ type: [Figure], resolve: () => shapes }));
    builder.queryField('jitEcho', (t) => t.field({ type: 'JSON', nullable: true, args: { value: t.arg({ type: 'JSON' }) }, resolve: (_root, args) => args.value }));
    builder.queryField('jitLater', (t) =>
      t.field({ type: 'DateTime', args: { at: t.arg({ type: 'DateTime', required: true }) }, resolve: (_root, args) => new Date(args.at.getTime() + 1000) }),
    );
    builder.queryField('jitSized', (t) =>
      t.int({ args: { size: t.arg.int({ required: true, validate: { schema: z.number().int().min(1, 'expected at least 1') } }) }, resolve: (_root, args) => args.size * 2 }),
    );
    builder.queryField('jitAdmin', (t) => t.string({ extensions: requireScope('admin'), resolve: () => 'yes' }));
    builder.mutationField('jitRename', (t) =>
      t.string({
        args: { name: t.arg.string({ required: true, validate: { schema: z.string().min(1, 'expected a name') } }) },
        resolve: async (_root, args) => {
          if (args.name === 'taken') throw new NotFoundError('no such thing');
          return args.name.toUpperCase();
        },
      }),
    );
  },
});

const keys = { reader: 'r'.repeat(32), admin: 'a'.repeat(32) };

describe('compiled execution (graphql-jit)', () => {
  let daemon: Daemon;
  let url: string;
  let dataDir: string;
  const log: { msg: string; operation?: string | null; compiled?: number }[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-jit-'));
    const config = configSchema.parse({
      dataDir,
      server: { port: 0 },
      log: { level: 'debug' },
      jobs: { onShutdown: 'stop', killGraceSeconds: 2 },
      auth: {
        keys: [
          { name: 'reader', key: keys.reader, scopes: ['operate'] },
          { name: 'admin', key: keys.admin, scopes: ['admin'] },
        ],
      },
    });
    const plugins = await resolvePlugins({ config, builtins: [jobsTestPlugin, probe], baseDir: process.cwd() });
    // The daemon's own log, read back: it says which operations were compiled.
    daemon = createDaemon({ config, plugins, logger: createLogger({ level: 'debug', write: (line) => void log.push(JSON.parse(line)) }) });
    url = (await daemon.start()).url;
    const gql = (query: string, variables?: unknown) =>
      fetch(`${url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) }).then((r) => r.json());
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await gql('mutation($a: [String!]!) { testStartJob(fixture: "job-print", args: $a) }', { a: [String(i + 1)] })).data.testStartJob);
    await waitFor(async () => {
      const { data } = await gql('{ jobs(first: 10) { edges { node { status } } } }');
      return data.jobs.edges.every((e: { node: { status: string } }) => e.node.status === 'succeeded') ? true : undefined;
    });
  });
  afterAll(async () => {
    await daemon?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const compiledOperations = () => log.filter((l) => l.msg === 'GraphQL operation compiled').map((l) => l.operation);

  /** The same request three times: the first runs uncompiled, the next ones compiled. */
  const thrice = async (request: () => Promise<Response>) => {
    const answers: { status: number; type: string | null; body: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await request();
      answers.push({ status: response.status, type: response.headers.get('content-type'), body: await response.text() });
    }
    return answers;
  };

  type Answer = Awaited<ReturnType<typeof thrice>>[number];
  /** Byte for byte, except that the order of several errors may differ (graphql-jit lists nulls in non-null fields last). */
  const expectSame = (answer: Answer, first: Answer) => {
    expect({ ...answer, body: undefined }).toEqual({ ...first, body: undefined });
    const sorted = (body: string) => {
      const result = JSON.parse(body) as { errors?: unknown[] };
      return { ...result, errors: result.errors?.map((e) => JSON.stringify(e)).sort() };
    };
    if ((sorted(first.body).errors ?? []).length <= 1) expect(answer.body).toBe(first.body);
    else expect(sorted(answer.body)).toEqual(sorted(first.body));
  };

  const post = (body: unknown, { key = keys.reader, accept = 'application/json' } = {}) => () =>
    fetch(`${url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept }, body: JSON.stringify(body) });

  const cases: { name: string; query: string; variables?: Record<string, unknown>; operationName?: string; key?: string; expect: RegExp }[] = [
    {
      name: 'a Relay listing with DateTime fields',
      query: 'query List { jobs(first: 50) { edges { cursor node { id status command args createdAt startedAt finishedAt exitCode labels { key value } } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }',
      expect: /"edges":\[\{"cursor"/,
    },
    {
      name: 'fragments, variables, aliases, @include and @skip',
      query:
        'query Page($n: Int!, $cmd: Boolean!) { recent: jobs(first: $n, status: succeeded) { ...Conn } none: jobs(first: 1, kind: "nope") { ...Conn } } fragment Conn on QueryJobsConnection { edges { node { id __typename command @include(if: $cmd) kind @skip(if: $cmd) } } }',
      variables: { n: 2, cmd: true },
      expect: /"recent":\{"edges":\[\{"node":\{"id":.*"none":\{"edges":\[\]\}/,
    },
    { name: 'zod argument validation (BAD_USER_INPUT)', query: 'query Bad { jobs(first: -1) { edges { cursor } } }', expect: /"code":"BAD_USER_INPUT"/ },
    { name: 'zod validation through a variable', query: 'query Sized($s: Int!) { jitSized(size: $s) }', variables: { s: 0 }, expect: /expected at least 1.*"BAD_USER_INPUT"/ },
    { name: 'a variable that does not coerce', query: 'query Sized($s: Int!) { jitSized(size: $s) }', variables: { s: 'ten' }, expect: /Int cannot represent non-integer value/ },
    { name: 'a missing variable', query: 'query Sized($s: Int!) { jitSized(size: $s) }', expect: /was not provided/ },
    { name: 'a list whose items fail: null propagation, coded errors from async resolvers', query: '{ jitItems { n label coded } }', expect: /"Unexpected error\.".*"NOT_FOUND".*"jitItems":\[\{"n":1,"label":"item 1","coded":"here"\},null,\{"n":3,"label":"item 3","coded":null\}/ },
    { name: 'a null in a non-null chain nulls data', query: '{ jitRequired { n label } }', expect: /"data":null/ },
    { name: 'a null stops at the nearest nullable field', query: '{ jitOptional { label } daemon { version } }', expect: /"jitOptional":null,"daemon"/ },
    { name: 'an unexpected error is masked', query: '{ jitExplode daemon { version } }', expect: /"Unexpected error\.".*"INTERNAL_SERVER_ERROR"/ },
    { name: 'interfaces and unions', query: '{ jitNamed { __typename name ... on JitPolygon { sides } } jitFigures { ... on JitCircle { radius } ... on JitPolygon { sides } } }', expect: /"JitPolygon".*"radius":1.5/ },
    { name: 'JSON and DateTime arguments, literal and variables', query: 'query Scalars($v: JSON, $at: DateTime!) { lit: jitEcho(value: {a: [1, "x"], b: null}) var: jitEcho(value: $v) at: jitLater(at: "2025-01-02T03:04:05.000Z") atVar: jitLater(at: $at) }', variables: { v: { deep: [true, { x: 1 }] }, at: '2025-01-02T03:04:05Z' }, expect: /"lit":\{"a":\[1,"x"\],"b":null\}.*"atVar":"2025-01-02T03:04:06.000Z"/ },
    { name: 'a variable inside a JSON literal (stays uncompiled)', query: 'query Nested($x: Int) { jitEcho(value: {x: $x}) }', variables: { x: 7 }, expect: /"jitEcho":\{"x":7\}/ },
    { name: 'a DateTime variable that does not parse', query: 'query When($at: DateTime!) { jitLater(at: $at) }', variables: { at: 'yesterday' }, expect: /DateTime must be an ISO 8601 string/ },
    { name: 'a scope the key lacks (FORBIDDEN)', query: '{ jitAdmin }', expect: /"FORBIDDEN"/ },
    { name: 'a mutation with a coded error', query: 'mutation Rename($n: String!) { jitRename(name: $n) }', variables: { n: 'taken' }, expect: /"NOT_FOUND"/ },
    { name: 'a mutation', query: 'mutation Rename($n: String!) { a: jitRename(name: $n) b: jitRename(name: "second") }', variables: { n: 'first' }, expect: /"a":"FIRST","b":"SECOND"/ },
    { name: 'a named operation among several (stays uncompiled)', query: 'query A { daemon { version } } query B { jitSized(size: 2) }', operationName: 'B', expect: /"jitSized":4/ },
    { name: 'introspection (stays uncompiled)', query: '{ __schema { queryType { name } } __type(name: "JitItem") { fields { name args { name defaultValue } } } }', expect: /"queryType":\{"name":"Query"\}/ },
  ];

  for (const c of cases) {
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      test(`${c.name} (${accept}): compiled runs answer the same bytes as the uncompiled first run`, async () => {
        const [first, ...compiled] = await thrice(post({ query: `${c.query}\n# ${accept}`, variables: c.variables, operationName: c.operationName }, { key: c.key, accept }));
        expect(first.body).toMatch(c.expect);
        for (const answer of compiled) expectSame(answer, first);
      });
    }
  }

  test('yoga itself (GraphQL over GET) answers the same compiled', async () => {
    const search = new URLSearchParams({ query: 'query ViaGet($n: Int!) { jobs(first: $n) { edges { node { id createdAt } } } jitItems { n label coded } }', variables: JSON.stringify({ n: 2 }) });
    const [first, ...compiled] = await thrice(() => fetch(`${url}/graphql?${search}`, { headers: { authorization: `Bearer ${keys.reader}`, accept: 'application/json' } }));
    expect(first.body).toMatch(/"jobs":\{"edges":\[\{"node":\{"id"/);
    for (const answer of compiled) expectSame(answer, first);
    expect(compiledOperations()).toContain('ViaGet');
  });

  test('listings run compiled: jobs(first: 50) over GraphQL and the legacy GET /jobs (REST layer)', async () => {
    const [first, ...compiled] = await thrice(() => fetch(`${url}/jobs`, { headers: { authorization: `Bearer ${keys.reader}` } }));
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toHaveLength(3);
    for (const answer of compiled) expectSame(answer, first);
    const operations = compiledOperations();
    expect(operations).toContain('List');
    expect(operations).toContain('LegacyJobList');
    expect(operations).toContain('Page');
    expect(operations).toContain('Rename');
    // Not compiled: subscriptions, introspection, several operations, variables inside literals.
    expect(operations).not.toContain('Nested');
    expect(operations).not.toContain('B');
  });

  test('compiled operations are bounded by count (100), least recently used out', async () => {
    for (let i = 0; i < 110; i++) await thrice(post({ query: `query Many${i} { jitSized(size: ${i + 1}) }` }));
    const counts = log.filter((l) => l.msg === 'GraphQL operation compiled').map((l) => l.compiled!);
    expect(Math.max(...counts)).toBe(100);
    expect(compiledOperations()).toContain('Many109');
    // The first of them was evicted: it compiles again after two more runs.
    const before = compiledOperations().filter((o) => o === 'Many0').length;
    await thrice(post({ query: 'query Many0 { jitSized(size: 1) }' }));
    expect(compiledOperations().filter((o) => o === 'Many0').length).toBe(before + 1);
  });
});
