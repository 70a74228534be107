import { afterAll, beforeAll, expect, test } from 'vitest';
import WebSocket from 'ws';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const bodyLimitBytes = 4096;
let bp: TestDaemon;
beforeAll(async () => {
  bp = await startTestDaemon({ config: { server: { bodyLimitBytes } } });
});
afterAll(() => bp.stop());

/** A graphql-transport-ws socket past `connection_ack`, recording what it receives. */
async function connect() {
  const socket = new WebSocket(`${bp.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: { type: string; id?: string; payload?: any }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init' }));
  await new Promise<void>((resolve) => socket.on('message', () => messages.some((m) => m.type === 'connection_ack') && resolve()));
  return { socket, messages, closed };
}

const subscribe = (id: string, padding: number) => JSON.stringify({ id, type: 'subscribe', payload: { query: `{ daemon { version } } # ${'x'.repeat(padding)}` } });

test('a graphql-ws message within server.bodyLimitBytes is answered', async () => {
  const { socket, messages, closed } = await connect();
  const message = subscribe('1', bodyLimitBytes - 200);
  expect(Buffer.byteLength(message)).toBeLessThan(bodyLimitBytes);
  socket.send(message);
  await new Promise<void>((resolve) => socket.on('message', () => messages.some((m) => m.type === 'complete' && m.id === '1') && resolve()));
  expect(messages.find((m) => m.type === 'next')?.payload).toEqual({ data: { daemon: { version: '0.1.0' } } });
  socket.close(1000);
  expect((await closed).code).toBe(1000);
});

test('a larger graphql-ws message closes the socket with 1009 (Message Too Big)', async () => {
  const { socket, messages, closed } = await connect();
  const message = subscribe('2', bodyLimitBytes);
  expect(Buffer.byteLength(message)).toBeGreaterThan(bodyLimitBytes);
  socket.send(message);
  expect((await closed).code).toBe(1009);
  expect(messages.some((m) => m.id === '2')).toBe(false);
});
