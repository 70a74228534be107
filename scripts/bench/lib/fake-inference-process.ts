import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { repoRoot } from './spawn-daemon.ts';

/**
 * test/helpers/fake-inference.ts in a process of its own, so that a benchmark's "direct" calls
 * cross a process boundary as they do through a proxy, and the backend's CPU is not the load
 * generator's.
 */
export async function startFakeInferenceProcess(options: { models?: string[]; chunks?: number; chunkBytes?: number } = {}): Promise<{ url: string; child: ResultPromise; stop(): Promise<void> }> {
  const module = path.join(repoRoot, 'test', 'helpers', 'fake-inference.ts');
  const source = `
    const { startFakeInference } = await import(${JSON.stringify(module)});
    const backend = await startFakeInference(${JSON.stringify(options)});
    process.stdout.write(backend.url + '\\n');
    process.once('SIGTERM', () => backend.close().then(() => process.exit(0)));
  `;
  const child = execa(process.execPath, ['--input-type=module', '-e', source], { reject: false, buffer: false });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    void child.then((result) => reject(new Error(`the fake inference backend exited: ${String(result.stderr ?? '')}`)));
  });
  return {
    url,
    child,
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
}
