import net from 'node:net';
import { ConflictError } from '../../core/plugin-api.ts';

/**
 * Fails with a {@link ConflictError} when `port` cannot be bound on `host` right now, so a busy
 * port is reported before podman runs instead of as a vLLM bind error minutes into loading.
 * On Linux a wildcard listener (`0.0.0.0:port`) also makes a loopback bind fail.
 */
export async function assertPortFree(host: string, port: number): Promise<void> {
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
  if (!error) return;
  if (error.code === 'EADDRINUSE') throw new ConflictError(`Port ${port} is already in use on ${host}`, { details: { port } });
  if (error.code === 'EACCES') throw new ConflictError(`Port ${port} cannot be bound on ${host}: permission denied`, { details: { port } });
  throw new ConflictError(`Port ${port} cannot be bound on ${host}: ${error.code ?? error.message}`, { details: { port } });
}
