import net from 'node:net';
import { ConflictError } from '../../core/plugin-api.ts';

/** Whether `port` can be bound on `host` right now (the error code when it cannot). */
export function probePortFree(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Fails with a {@link ConflictError} when `port` cannot be bound on `host`, so a busy port is
 * reported before llama-server is spawned instead of as its bind error in the log.
 */
export async function assertPortFree(host: string, port: number): Promise<void> {
  const code = await probePortFree(host, port);
  if (code === undefined) return;
  const reason = code === 'EADDRINUSE' ? 'is already in use' : code === 'EACCES' ? 'cannot be bound: permission denied' : `cannot be bound: ${code}`;
  throw new ConflictError(`Port ${port} ${reason} on ${host}`, { details: { port } });
}

/**
 * The lowest port of `range` that no instance has (`taken`) and that binds now; CONFLICT when
 * the range is exhausted.
 */
export async function pickPort(host: string, range: { from: number; to: number }, taken: ReadonlySet<number>): Promise<number> {
  for (let port = range.from; port <= range.to; port++) {
    if (taken.has(port)) continue;
    if ((await probePortFree(host, port)) === undefined) return port;
  }
  throw new ConflictError(`No free port left in the range ${range.from}-${range.to}`, { details: { from: range.from, to: range.to } });
}
