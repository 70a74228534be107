import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin } from '../core/plugin-api.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

/** Subscriptions of `ticks` still open on the server: up when subscribed, down when ended. */
let active = 0;

/** One event, then nothing until the subscription is ended from outside. */
const ticks = definePlugin({
  id: 'ticks',
  version: '1.0.0',
  schema: (builder) =>
    builder.subscriptionField('ticks', (t) =>
      t.int({
        subscribe: () => {
          active++;
          let sent = false;
          let ended = false;
          let wake: ((result: IteratorResult<number>) => void) | undefined;
          const iterator: AsyncIterableIterator<number> = {
            next: () => (sent ? new Promise((resolve) => (wake = resolve)) : ((sent = true), Promise.resolve({ done: false, value: 1 }))),
            return: () => {
              if (!ended) {
                ended = true;
                active--;
                wake?.({ done: true, value: undefined });
              }
              return Promise.resolve({ done: true, value: undefined });
            },
            [Symbol.asyncIterator]: () => iterator,
          };
          return iterator;
        },
        resolve: (value: number) => value,
      }),
    ),
});

const request = `GET /graphql?query=${encodeURIComponent('subscription { ticks }')} HTTP/1.1\r\nhost: backplane\r\naccept: text/event-stream\r\nx-graphql-yoga-csrf: 1\r\n\r\n`;

/** Opens an SSE subscription on a raw socket and waits for its first event. */
async function subscribe(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let received = '';
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.includes('event: next')) resolve();
    });
    socket.once('close', () => reject(new Error(`closed before the first event: ${received}`)));
    socket.write(request);
  });
  expect(received).toMatch(/^HTTP\/1\.1 200/);
  expect(received).toContain('"ticks":1');
  return socket;
}

describe('SSE subscriptions end when their peer goes away', () => {
  let bp: TestDaemon;
  let port: number;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [ticks] });
    port = Number(new URL(bp.url).port);
  });
  afterAll(() => bp.stop());

  test('a peer that closes (FIN)', async () => {
    const socket = await subscribe(port);
    expect(active).toBe(1);
    socket.destroy();
    await waitFor(() => (active === 0 ? true : undefined), { timeoutMs: 30_000 });
  });

  test('a peer that resets (RST, no FIN)', async () => {
    const socket = await subscribe(port);
    expect(active).toBe(1);
    socket.resetAndDestroy();
    await waitFor(() => (active === 0 ? true : undefined), { timeoutMs: 30_000 });
  });

  test('a peer that vanished silently is found by the next keep-alive write', async () => {
    // A relay stands in for a client whose host lost the connection: it says nothing when the
    // client goes, and answers the next bytes the daemon sends with a reset, as that host would.
    let upstream: net.Socket | undefined;
    let downstream: net.Socket | undefined;
    let woke: string | undefined;
    const relay = net.createServer((client) => {
      downstream = client;
      upstream = net.connect(port, '127.0.0.1');
      upstream.on('error', () => undefined);
      client.on('error', () => undefined);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const socket = await subscribe((relay.address() as net.AddressInfo).port);
      expect(active).toBe(1);
      const server = upstream!;
      downstream!.unpipe(server);
      server.unpipe(downstream);
      socket.destroy();
      server.once('data', (chunk: Buffer) => {
        woke = chunk.toString();
        server.resetAndDestroy();
      });
      server.resume();
      await waitFor(() => (active === 0 ? true : undefined), { timeoutMs: 30_000 });
      // What found the dead peer was yoga's SSE keep-alive comment (`:`), not an event.
      expect(woke).toContain(':\n\n');
    } finally {
      relay.close();
    }
  });
});
