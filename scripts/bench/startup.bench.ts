import { execa } from 'execa';
import { median, report } from './lib/load.ts';
import { memoryOf, spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * Startup to /readyz with every built-in plugin (embedded defaults), median of 5, and the idle
 * RSS one second after ready; the baseline is a bare node:http process started the same way.
 */
const runs: number[] = [];
const rss: number[] = [];
for (let i = 0; i < 5; i++) {
  const daemon = await spawnBenchDaemon();
  runs.push(daemon.readyMs);
  await new Promise((r) => setTimeout(r, 1000));
  rss.push((await memoryOf(daemon.pid)).rssMiB);
  await daemon.stop();
}

const bare: number[] = [];
for (let i = 0; i < 5; i++) {
  const started = performance.now();
  const child = execa(process.execPath, ['-e', "require('node:http').createServer((q,s)=>s.end('ok')).listen(0,()=>console.log('up'))"], { reject: false, buffer: false });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  bare.push(performance.now() - started);
  child.kill();
  await child;
}
report('startup to /readyz, all built-in plugins', { median_ms: median(runs), min_ms: Math.min(...runs), max_ms: Math.max(...runs) });
report('  idle RSS after ready', { median_MiB: median(rss) });
report('  bare node:http process start', { median_ms: median(bare) });
report('  ratio (daemon / bare)', { startup_ratio: median(runs) / median(bare) });
