import { createRequire } from 'node:module';
import { createColors } from 'picocolors';
import type { CliColumn, CliOutput } from '../packages/plugin-api/src/cli.ts';

/** How results are printed: for people (tables, colour on a TTY) or for scripts (`--json`, `--jsonl`). */
export interface OutputMode {
  json: boolean;
  jsonl: boolean;
  /** Colour and live displays: stdout is a TTY, `NO_COLOR` is unset, and no JSON was asked for. */
  color: boolean;
  /** Progress bars and spinners may be drawn (stderr is a TTY, no JSON). */
  live: boolean;
}

export function outputMode(flags: { json?: boolean; jsonl?: boolean }, env: NodeJS.ProcessEnv = process.env): OutputMode {
  const json = Boolean(flags.json || flags.jsonl);
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  return {
    json,
    jsonl: Boolean(flags.jsonl),
    color: !json && !noColor && env.TERM !== 'dumb' && Boolean(process.stdout.isTTY),
    live: !json && env.TERM !== 'dumb' && Boolean(process.stderr.isTTY),
  };
}

const require = createRequire(import.meta.url);
type TableConstructor = typeof import('cli-table3');
let tableClass: TableConstructor | undefined;

// cli-table3 with every border blank: columns two spaces apart, as kubectl and podman print.
const blank = { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' };

/** Lines of an aligned, borderless table (cli-table3 measures wide and coloured text). */
export function renderTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  tableClass ??= require('cli-table3') as TableConstructor;
  const table = new tableClass({ head: [...head], chars: blank, style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true } });
  table.push(...rows.map((r) => [...r]));
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/** Cell text for a value with no formatter: `-` for none, lists joined, numbers as they are. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cell).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Writes to stdout; the {@link CliOutput} the commands (and plugins' commands) print with. */
export function createOutput(mode: OutputMode, write: (text: string) => void = (text) => void process.stdout.write(text)): CliOutput {
  const c = createColors(mode.color);
  const colors = { bold: c.bold, dim: c.dim, red: c.red, green: c.green, yellow: c.yellow, cyan: c.cyan };
  return {
    json: mode.json,
    jsonl: mode.jsonl,
    colors,
    table(rows, columns) {
      if (mode.jsonl) {
        for (const row of rows) write(`${JSON.stringify(row)}\n`);
        return;
      }
      if (mode.json) {
        write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (rows.length === 0) {
        write(`${colors.dim('(none)')}\n`);
        return;
      }
      const head = columns.map((col) => colors.bold(col.header ?? col.key.toUpperCase()));
      const body = rows.map((row) => columns.map((col) => (col.format ? col.format(row[col.key as keyof typeof row] as never, row as never) : cell(row[col.key as keyof typeof row]))));
      write(`${renderTable(head, body)}\n`);
    },
    record(value) {
      if (mode.json) {
        write(`${JSON.stringify(value, null, mode.jsonl ? undefined : 2)}\n`);
        return;
      }
      const keys = Object.keys(value);
      const width = Math.max(...keys.map((k) => k.length));
      write(keys.map((k) => `${colors.bold(`${k}:`.padEnd(width + 1))} ${cell(value[k])}`).join('\n') + '\n');
    },
    line(text) {
      if (!mode.json) write(`${text}\n`);
    },
  } satisfies CliOutput;
}

/** `3h 12m`, `45s`: a duration for people. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** How long ago an ISO instant was (`5m ago`), or `-`. */
export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  return `${formatDuration((now - Date.parse(iso)) / 1000)} ago`;
}

/** A 0–1 fraction as `42%`, or `-`. */
export function formatPercent(fraction: number | null | undefined): string {
  return fraction === null || fraction === undefined ? '-' : `${Math.round(fraction * 100)}%`;
}

/** Colours a status word: green when good, red when failed, yellow while in between. */
export function colorStatus(status: string, colors: CliOutput['colors']): string {
  if (['ready', 'running', 'succeeded', 'ok'].includes(status)) return colors.green(status);
  if (['failed', 'cancelled', 'down'].includes(status)) return colors.red(status);
  if (['degraded', 'queued', 'starting', 'loading', 'restarting', 'stopping', 'pending'].includes(status)) return colors.yellow(status);
  return status;
}
