// Output helpers of the ilab simulator: ilab's print_table, sizes, times, log lines, tqdm bars.
import { readFileSync, statSync } from 'node:fs';

/** Milliseconds per simulated step (plugins.ilab.mock.stepMs). */
export const stepMs = Number(process.env.ILAB_SIM_STEP_MS ?? 200);

export const sleep = (ms = stepMs) => new Promise((resolve) => setTimeout(resolve, ms));

const width = (s) => Array.from(s).length;

/** ilab's print_table: widths by code points, border/header/border/rows/border. */
export function printTable(headers, rows) {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i]))));
  const border = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells) => `|${cells.map((c, i) => ` ${c}${' '.repeat(widths[i] - width(c))} `).join('|')}|`;
  return [border, line(headers), border, ...rows.map(line), border].join('\n') + '\n';
}

/** `15.2 GB` (models, one decimal) or `3.92 MB` (datasets, two), 1024-based. */
export function formatSize(bytes, decimals) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(decimals)} ${units[unit]}`;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** `%Y-%m-%d %H:%M:%S` in local time. */
export function formatTime(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** ilab's default log format: `INFO 2025-01-28 02:11:05,412 instructlab.sdg.generate_data:474: …` (stderr). */
export function log(level, logger, message) {
  const now = new Date();
  process.stderr.write(`${level} ${formatTime(now)},${pad(now.getMilliseconds(), 3)} ${logger}: ${message}\n`);
}

/** A tqdm frame: `Epoch 0:  40%|████      | 2/5 [00:02<00:03,  1.00s/it]`. */
export function tqdmFrame(label, done, total, secondsPerIt = stepMs / 1000) {
  const percent = Math.floor((done / total) * 100);
  const filled = Math.floor((done / total) * 10);
  const bar = '█'.repeat(filled) + ' '.repeat(10 - filled);
  const clock = (s) => `${pad(Math.floor(s / 60))}:${pad(Math.floor(s % 60))}`;
  const elapsed = done * secondsPerIt;
  const left = (total - done) * secondsPerIt;
  return `${label}: ${String(percent).padStart(3)}%|${bar}| ${done}/${total} [${clock(elapsed)}<${clock(left)}, ${secondsPerIt.toFixed(2)}s/it]`;
}

/** Writes a bar's frames with `\r` between them, as tqdm does on a non-TTY stream. */
export async function runBar(stream, label, total, { colour } = {}) {
  for (let done = 0; done <= total; done++) {
    const frame = tqdmFrame(label, done, total);
    stream.write(`${colour ? `\u001b[${colour}m` : ''}${frame}${colour ? '\u001b[0m' : ''}${done === total ? '\n' : '\r'}`);
    if (done < total) await sleep();
  }
}

/** Bytes a simulated file stands for (its `.ilab-sim.json` sidecar), or its real size. */
export function simulatedBytes(file) {
  try {
    return JSON.parse(readFileSync(`${file}.ilab-sim.json`, 'utf8')).bytes;
  } catch {
    return statSync(file).size;
  }
}

/** Exit with ilab's usage-error code and message. */
export function usage(message) {
  process.stderr.write(`Usage: ilab [OPTIONS] COMMAND [ARGS]...\nTry 'ilab --help' for help.\n\nError: ${message}\n`);
  process.exit(2);
}

/** `--name value` or `--name=value`. */
export function option(args, name) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
  }
  return undefined;
}
