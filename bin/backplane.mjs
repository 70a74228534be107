#!/usr/bin/env node
// The CLI in this same process: Node ≥ 22.18 runs the TypeScript sources itself (type stripping).
import module from 'node:module';
import { nodeProblem } from './check-node.mjs';

const problem = nodeProblem();
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
// Keeps the type-stripped sources and V8 code on disk (NODE_COMPILE_CACHE, or the OS temp dir):
// a warm start skips the TypeScript stripper, about 18 MiB and a tenth of the start-up.
// NODE_DISABLE_COMPILE_CACHE=1 turns it off.
module.enableCompileCache?.();
// Client commands (status, jobs, gpus, ilab …) run cli/main.ts, which never loads the daemon.
const { entryFor } = await import('../cli/entry-route.ts');
if (entryFor(process.argv.slice(2)) === 'client') {
  const { runCli } = await import('../cli/main.ts');
  const code = await runCli(process.argv.slice(2));
  // process.exit() drops output a slow pipe reader has not taken yet.
  const { flushStdio } = await import('../cli/flush-stdio.ts');
  await flushStdio();
  process.exit(code);
}
// The young generation stays small until the daemon is ready (core/util/startup-heap.ts).
const { holdYoungGeneration } = await import('../core/util/startup-heap.ts');
holdYoungGeneration();
await import('../core/main.ts');
