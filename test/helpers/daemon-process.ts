import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import YAML from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface DaemonProcess {
  url: string;
  pid: number;
  process: ResultPromise;
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<{ data?: T; errors?: { message: string; extensions?: { code?: string } }[] }>;
  /** Everything the daemon printed so far. */
  output(): string;
}

/**
 * Runs `backplane serve` as a real child process (for kill -9 and signal tests) with a config
 * file written into `dataDir`, and resolves once it listens and reports ready.
 */
export async function spawnDaemon(dataDir: string, config: Record<string, unknown>, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<DaemonProcess> {
  const configFile = path.join(dataDir, 'backplane.yaml');
  await writeFile(configFile, YAML.stringify({ dataDir, server: { port: 0 }, ...config }));
  const child = execa(process.execPath, [path.join(root, 'core', 'main.ts'), 'serve', '--config', configFile, ...extraArgs], {
    cwd: root,
    env,
    reject: false,
    all: true,
    buffer: false,
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not start:\n${output}`)), 30_000);
    child.all!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"msg":"listening","url":"(http:\/\/[^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void child.then(() => reject(new Error(`daemon exited:\n${output}`)));
  });
  // It listens before plugins boot (so /healthz answers early); wait until every plugin is up.
  const deadline = Date.now() + 30_000;
  while ((await fetch(`${url}/readyz`).catch(() => undefined))?.status !== 200) {
    if (Date.now() > deadline) throw new Error(`daemon did not become ready:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    url,
    pid: child.pid!,
    process: child,
    output: () => output,
    async gql(query, variables) {
      const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ query, variables }) });
      return (await response.json()) as never;
    },
  };
}
