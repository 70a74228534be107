import { execa, type ResultPromise } from 'execa';

/**
 * A bare `node:http` server in its own process that answers every request with fixed bytes:
 * the baseline a backplane route is compared against.
 */
export async function startBareServer(body: string, contentType = 'application/json'): Promise<{ url: string; stop(): Promise<void>; child: ResultPromise }> {
  const source = `
    const http = require('node:http');
    const body = Buffer.from(${JSON.stringify(body)});
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': ${JSON.stringify(contentType)}, 'content-length': body.length });
      res.end(body);
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));
  `;
  const child = execa(process.execPath, ['-e', source], { reject: false, buffer: false });
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
}
