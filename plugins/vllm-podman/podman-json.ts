/**
 * Parsers for podman's JSON, tolerant of the differences between podman 3, 4 and 5 (`Id`/`ID`,
 * `Names` as an array or a string, `Labels: null`, `Created` as seconds or RFC 3339, missing keys).
 */

/** One container from `podman ps -a --format json`. */
export interface PsContainer {
  id: string;
  names: string[];
  image: string;
  /** `running`, `exited`, `created`, … (lower case). */
  state: string;
  exitCode: number | null;
  labels: Record<string, string>;
  startedAt: Date | null;
}

/** The parts of `podman inspect` the plugin reads. */
export interface InspectedContainer {
  id: string;
  name: string;
  state: string;
  running: boolean;
  exitCode: number | null;
  /** The runtime's error (e.g. an OCI start failure), if any. */
  error: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  labels: Record<string, string>;
}

type Json = Record<string, unknown>;

export function parsePsJson(stdout: string): PsContainer[] {
  const parsed = parseArray(stdout, 'podman ps');
  return parsed.map((raw) => ({
    id: str(raw.Id ?? raw.ID),
    names: Array.isArray(raw.Names) ? raw.Names.map(String) : typeof raw.Names === 'string' ? raw.Names.split(',').map((n) => n.replace(/^\//, '')) : [],
    image: str(raw.Image),
    state: str(raw.State).toLowerCase(),
    exitCode: typeof raw.ExitCode === 'number' ? raw.ExitCode : null,
    labels: labels(raw.Labels),
    startedAt: unixOrIso(raw.StartedAt),
  }));
}

/** Parses `podman inspect` output; an empty array (no such container) gives `[]`. */
export function parseInspectJson(stdout: string): InspectedContainer[] {
  return parseArray(stdout, 'podman inspect').map((raw) => {
    const state = (raw.State ?? {}) as Json;
    const config = (raw.Config ?? {}) as Json;
    return {
      id: str(raw.Id ?? raw.ID),
      name: str(raw.Name).replace(/^\//, ''),
      state: str(state.Status).toLowerCase(),
      running: state.Running === true,
      exitCode: typeof state.ExitCode === 'number' ? state.ExitCode : null,
      error: typeof state.Error === 'string' && state.Error !== '' ? state.Error : null,
      startedAt: unixOrIso(state.StartedAt),
      finishedAt: unixOrIso(state.FinishedAt),
      labels: labels(config.Labels),
    };
  });
}

function parseArray(stdout: string, what: string): Json[] {
  const text = stdout.trim();
  if (text === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${what}: output is not JSON`);
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) throw new Error(`${what}: expected a JSON array`);
  return parsed.filter((item): item is Json => typeof item === 'object' && item !== null);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

function labels(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) out[key] = str(v);
  return out;
}

/** Unix seconds (CLI) or an RFC 3339 string (REST, inspect); Go's zero time is null. */
function unixOrIso(value: unknown): Date | null {
  if (typeof value === 'number') return value > 0 ? new Date(value * 1000) : null;
  if (typeof value !== 'string' || value === '' || value.startsWith('0001-01-01')) return null;
  const date = new Date(value.replace(/ [A-Z]+$/, '').replace(/^(\S+) (\S+) ([+-]\d{4})$/, '$1T$2$3'));
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Splits `podman logs -t` lines into their timestamp and text. */
export function splitTimestamp(line: string): { at: string | undefined; text: string } {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) ?(.*)$/.exec(line);
  return match ? { at: match[1], text: match[2] } : { at: undefined, text: line };
}
