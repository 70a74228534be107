import { UnavailableError, type ProcessService, type RunResult } from '../../core/plugin-api.ts';
import { parseInspectJson, parsePsJson, splitTimestamp, type InspectedContainer, type PsContainer } from './podman-json.ts';
import type { VllmContainer } from './types.ts';

export interface PodmanOptions {
  processes: ProcessService;
  podmanPath: string;
  timeoutMs: number;
}

/** podman, one argv per operation, through the plugin's process service (never a shell). */
export type Podman = ReturnType<typeof createPodman>;

const sep = '\u001f';
/** The legacy api-server's `podman ps` columns, plus the labels; podman formats each field itself. */
const legacyFormat = ['{{.ID}}', '{{.Image}}', '{{.Command}}', '{{.CreatedAt}}', '{{.Status}}', '{{.Ports}}', '{{.Names}}', '{{json .Labels}}'].join(sep);

export function createPodman({ processes, podmanPath, timeoutMs }: PodmanOptions) {
  // Failures are the process service's ProcessError (podman's stderr goes to the log, not the message).
  const run = async (args: string[], options: { timeoutMs?: number; logFailure?: boolean } = {}): Promise<RunResult> => {
    const result = await processes.run(podmanPath, args, { timeoutMs: options.timeoutMs ?? timeoutMs, logFailure: options.logFailure });
    if (result.spawnError) throw new UnavailableError(`podman not found or not executable (${result.spawnError}); install podman or set plugins.vllm-podman.podmanPath`, { cause: result.error });
    if (result.timedOut) throw result.error!;
    return result;
  };
  const check = (_args: string[], result: RunResult): RunResult => {
    if (result.error) throw result.error;
    return result;
  };

  return {
    path: podmanPath,
    /** The client version; throws UNAVAILABLE when podman is missing or broken. */
    async version(): Promise<string> {
      const args = ['version', '--format', '{{.Client.Version}}'];
      const result = await run(args, { timeoutMs: 30_000 });
      if (result.error) throw new UnavailableError(`podman does not work: ${result.error.message}`, { cause: result.error });
      return result.stdout.trim();
    },
    /** `podman run …`; resolves to the container id. */
    async run(args: string[]): Promise<string> {
      return check(args, await run(args)).stdout.trim();
    },
    /** Every container with `label` (`key=value`), running or not. */
    async ps(label: string): Promise<PsContainer[]> {
      const args = ['ps', '--all', '--filter', `label=${label}`, '--format', 'json'];
      return parsePsJson(check(args, await run(args)).stdout);
    },
    /** Running containers with `label`, in the legacy api-server's columns. */
    async psLegacy(label: string): Promise<(VllmContainer & { labels: Record<string, string> })[]> {
      const args = ['ps', '--filter', `label=${label}`, '--format', legacyFormat];
      const lines = check(args, await run(args)).stdout.split('\n').filter((line) => line.trim() !== '');
      return lines.map((line) => {
        const [id, image, command, createdAt, status, ports, names, labelsJson] = line.split(sep);
        const labels = JSON.parse(labelsJson || 'null') ?? {};
        return { containerId: id, image, command, createdAt, status, ports, names, servedModelName: '', modelPath: '', labels };
      });
    },
    /** The container, or undefined when it does not exist. */
    async inspect(nameOrId: string): Promise<InspectedContainer | undefined> {
      const args = ['container', 'inspect', '--format', 'json', '--', nameOrId];
      // A container that is gone is an answer, not a failure to log.
      const result = await run(args, { logFailure: false });
      if (result.failed && /no such (container|object)/i.test(result.stderr)) return undefined;
      return parseInspectJson(check(args, result).stdout)[0];
    },
    /** SIGTERM, then SIGKILL after `timeoutSeconds`; a missing container is not an error. */
    async stop(nameOrId: string, timeoutSeconds: number): Promise<void> {
      const args = ['stop', '--ignore', '--time', String(timeoutSeconds), '--', nameOrId];
      check(args, await run(args, { timeoutMs: timeoutMs + timeoutSeconds * 1000 }));
    },
    /** Removes the container, killing it if it still runs; a missing one is not an error. */
    async remove(nameOrId: string): Promise<void> {
      const args = ['rm', '--force', '--ignore', '--time', '0', '--', nameOrId];
      check(args, await run(args));
    },
    /** The last `lines` lines of stdout and stderr, merged in time order. */
    async logTail(nameOrId: string, lines: number): Promise<string[]> {
      const args = ['logs', '--timestamps', '--tail', String(lines), '--', nameOrId];
      const result = await run(args, { logFailure: false });
      if (result.failed) return [];
      const merged = [...result.stdout.split('\n'), ...result.stderr.split('\n')].filter((l) => l !== '').map(splitTimestamp);
      // Timestamps have a fixed width, so text order is time order; sort is stable for ties.
      merged.sort((a, b) => (a.at ?? '').localeCompare(b.at ?? ''));
      return merged.slice(-lines).map((l) => l.text);
    },
  };
}
