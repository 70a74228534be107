import net from 'node:net';
import { expect, test } from 'vitest';
import { assertPortFree } from './port-check.ts';

test('a bound port is a CONFLICT; a free one passes and stays free', async () => {
  const server = net.createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  await expect(assertPortFree('127.0.0.1', port)).rejects.toMatchObject({ code: 'CONFLICT', message: `Port ${port} is already in use on 127.0.0.1` });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await assertPortFree('127.0.0.1', port);
  await assertPortFree('127.0.0.1', port);
});

test('a wildcard listener blocks the loopback port too', async () => {
  const server = net.createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, '0.0.0.0', () => resolve((server.address() as net.AddressInfo).port)));
  await expect(assertPortFree('127.0.0.1', port)).rejects.toMatchObject({ code: 'CONFLICT' });
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
