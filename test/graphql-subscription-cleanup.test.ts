import { readdir, readlink } from 'node:fs/promises';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { definePlugin } from '../core/plugin-api.ts';
import { jobsTestPlugin } from './helpers/jobs-test-plugin.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

/** `quiet` generators running on the server: up when one starts, down when its `finally` runs. */
let active = 0;

/**
 * A subscription written the way core's `jobUpdated` and the plugins' status subscriptions are:
 * an async generator over `ctx.subscribe(topic)` that yields the current state, then waits for
 * events on a topic that never publishes.
 */
const quiet = definePlugin({
  id: 'quiet',
  version: '1.0.0',
  schema: (builder) =>
    builder.subscriptionField('quiet', (t) =>
      t.int({
        subscribe: async function* (_root, _args, ctx) {
          const updates = ctx.subscribe<number>('quiet:never');
          active++;
          try {
            yield 0;
            for await (const value of updates) yield value;
          } finally {
            active--;
            await updates.return?.();
          }
        },
        resolve: (value: number) => value,
      }),
    ),
});

/** Opens a graphql-ws socket, starts `count` subscriptions on it and waits for each one's first event. */
async function openWs(url: string, query: string, count: number, variables?: Record<string, unknown>): Promise<WebSocket> {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const firsts = new Set<string>();
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string; id?: string; payload?: unknown };
      if (message.type === 'connection_ack') for (let i = 0; i < count; i++) socket.send(JSON.stringify({ id: `s${i}`, type: 'subscribe', payload: { query, variables } }));
      if (message.type === 'error') reject(new Error(JSON.stringify(message.payload)));
      if (message.type === 'next') firsts.add(message.id!);
      if (firsts.size === count) resolve();
    });
    socket.once('close', (code) => reject(new Error(`closed with ${code}`)));
    socket.send(JSON.stringify({ type: 'connection_init' }));
  });
  return socket;
}

/** Opens an SSE subscription on a raw socket and waits for its first event. */
async function openSse(port: number, query: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let received = '';
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.includes('event: next')) resolve();
    });
    socket.once('close', () => reject(new Error(`closed before the first event: ${received}`)));
    socket.write(`GET /graphql?query=${encodeURIComponent(query)} HTTP/1.1\r\nhost: backplane\r\naccept: text/event-stream\r\nx-graphql-yoga-csrf: 1\r\n\r\n`);
  });
  return socket;
}

/** Descriptors of this process (the daemon runs in it) open on `file`. */
async function openDescriptors(file: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === file) count++;
  return count;
}

describe('a subscription whose client goes away leaves nothing behind, with no event published', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [quiet, jobsTestPlugin] });
  });
  afterAll(() => bp.stop());

  test('50 subscriptions on a graphql-ws socket that is dropped', async () => {
    const socket = await openWs(bp.url, 'subscription { quiet }', 50);
    expect(active).toBe(50);
    socket.terminate();
    await waitFor(() => (active === 0 ? true : undefined));
  });

  test('subscriptions ended by `complete`, on a socket that stays open', async () => {
    const socket = await openWs(bp.url, 'subscription { quiet }', 5);
    expect(active).toBe(5);
    for (let i = 0; i < 5; i++) socket.send(JSON.stringify({ id: `s${i}`, type: 'complete' }));
    await waitFor(() => (active === 0 ? true : undefined));
    socket.close();
  });

  test('10 SSE subscriptions whose peers close', async () => {
    const port = Number(new URL(bp.url).port);
    const sockets = await Promise.all(Array.from({ length: 10 }, () => openSse(port, 'subscription { quiet }')));
    expect(active).toBe(10);
    for (const socket of sockets) socket.destroy();
    await waitFor(() => (active === 0 ? true : undefined), { timeoutMs: 30_000 });
  });

  test('jobLog followers of a running job close its log file when their socket is dropped', async () => {
    const started = await bp.gql('mutation($a: [String!]!) { testStartJob(fixture: "job-sleep", args: $a) }', { a: ['60'] });
    const id = started.data.testStartJob as string;
    const job = await waitFor(async () => {
      const { data } = await bp.gql('query($id: ID!) { job(id: $id) { status logPath } }', { id });
      return data.job.status === 'running' ? (data.job as { logPath: string }) : undefined;
    });
    const before = await openDescriptors(job.logPath);
    const socket = await openWs(bp.url, 'subscription($id: ID!) { jobLog(id: $id, tail: 5) { lines } }', 10, { id });
    await waitFor(async () => ((await openDescriptors(job.logPath)) >= before + 10 ? true : undefined));
    socket.terminate();
    await waitFor(async () => ((await openDescriptors(job.logPath)) === before ? true : undefined));
    await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id });
  });
});
