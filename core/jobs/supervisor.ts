/**
 * The per-job supervisor: a tiny process that owns one job's child, the way conmon owns a
 * container. The daemon starts it detached (its own session), so it outlives a daemon crash; it
 * writes the child's output to the log (in arrival order, under the size cap) and its exit
 * status to a file, which is how a restarted daemon settles a job with its real exit code.
 *
 * Exactly once: before it starts the command, the supervisor claims its launch attempt by
 * creating `claim-<token>` (a hard link, which fails if the file exists). The daemon fences an
 * attempt it gives up on (cancel, stop, or a restart that finds no claim) by creating the same
 * file first, so a supervisor that was still starting then exits without running anything.
 *
 * Run as `node supervisor.ts <spec-<token>.json>` with the job's environment as JSON on stdin
 * (never in a file). Standalone on purpose: only node: builtins, so Node strips its types and
 * starts it in tens of milliseconds.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, linkSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';

export interface SupervisorSpec {
  jobId: string;
  /** This launch attempt. */
  token: string;
  command: string;
  args: string[];
  cwd: string | null;
  /** The names of the variables the daemon sends on stdin (their values are never written down). */
  envKeys: string[];
  logPath: string;
  claimPath: string;
  statePath: string;
  exitPath: string;
  socketPath: string;
  maxLogBytes: number;
  /** Bytes at the top of the log (the header) that compaction keeps. */
  headerBytes: number;
}

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8')) as SupervisorSpec;
// A terminal hangup or the daemon's process group getting a signal must not end the job.
for (const signal of ['SIGHUP', 'SIGINT', 'SIGPIPE'] as const) process.on(signal, () => {});

// All of stdin, or the daemon died while writing it: then there is nothing safe to run.
const env = JSON.parse(await readStdin()) as Record<string, string>;

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
    process.stdin.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.once('error', reject);
  });
}

function writeAtomic(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** Takes this attempt, unless the daemon fenced it (or another process took it): then false. */
function claim(): boolean {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  const tmp = `${spec.claimPath}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ token: spec.token, supervisorPid: process.pid, supervisorStartTicks: startTicks }), { mode: 0o600 });
  try {
    linkSync(tmp, spec.claimPath);
    return true;
  } catch {
    return false;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // gone with its directory
    }
  }
}

if (!claim()) {
  process.stderr.write(`[backplane] launch ${spec.token} of job ${spec.jobId} was fenced or already claimed; not running it\n`);
  process.exit(0);
}

let logFd = openSync(spec.logPath, 'a+');
let logSize = fstatSync(logFd).size;
let droppedBytes = 0;

/** Keeps the header and the newest half of the cap, with a line saying what was dropped. */
function compact(): void {
  const keep = Math.floor(spec.maxLogBytes / 2);
  const header = Buffer.alloc(Math.min(spec.headerBytes, logSize));
  readSync(logFd, header, 0, header.length, 0);
  const tail = Buffer.alloc(Math.min(keep, logSize - header.length));
  readSync(logFd, tail, 0, tail.length, logSize - tail.length);
  droppedBytes += logSize - header.length - tail.length;
  const marker = Buffer.from(`[backplane] ${droppedBytes} bytes of older output were dropped (jobs.maxLogBytes = ${spec.maxLogBytes})\n`);
  const tmp = `${spec.logPath}.compact`;
  const fd = openSync(tmp, 'w', 0o600);
  writeSync(fd, header);
  writeSync(fd, marker);
  writeSync(fd, tail);
  closeSync(fd);
  renameSync(tmp, spec.logPath);
  closeSync(logFd);
  logFd = openSync(spec.logPath, 'a+');
  logSize = header.length + marker.length + tail.length;
}

function appendLog(chunk: Buffer): void {
  if (logSize + chunk.length > spec.maxLogBytes) {
    if (chunk.length >= spec.maxLogBytes / 2) {
      droppedBytes += chunk.length - Math.floor(spec.maxLogBytes / 4);
      chunk = chunk.subarray(chunk.length - Math.floor(spec.maxLogBytes / 4));
    }
    compact();
  }
  writeSync(logFd, chunk);
  logSize += chunk.length;
}

function finish(outcome: { exitCode: number | null; signal: string | null; error?: string }): void {
  writeAtomic(spec.exitPath, { ...outcome, finishedAt: new Date().toISOString(), droppedBytes });
  closeSync(logFd);
  process.exit(0);
}

// One socket for stdout and stderr keeps their lines in the order the child wrote them.
const server = net.createServer();
server.listen(spec.socketPath, () => {
  const reader = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const writer = net.connect(spec.socketPath);
  writer.once('connect', async () => {
    const source = await reader;
    server.close();
    try {
      unlinkSync(spec.socketPath);
    } catch {
      // already gone
    }
    const streamDone = new Promise<void>((resolve) => {
      source.on('data', appendLog);
      source.once('end', resolve);
      source.once('error', () => resolve());
    });

    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd ?? undefined,
      env,
      stdio: ['ignore', writer, writer],
      detached: true,
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ENOENT' ? `command not found: ${spec.command}` : `cannot start ${spec.command}: ${error.code ?? error.message}`;
      appendLog(Buffer.from(`[backplane] ${reason}\n`));
      writer.destroy();
      finish({ exitCode: null, signal: null, error: reason });
    });
    child.once('spawn', () => {
      writer.destroy(); // the child holds its own copies of the socket
      writeAtomic(spec.statePath, { pid: child.pid, supervisorPid: process.pid, startedAt: new Date().toISOString() });
    });
    child.once('exit', async (code, signal) => {
      // Wait for the output to drain, but not for descendants that keep the socket open.
      await Promise.race([streamDone, new Promise((r) => setTimeout(r, 2000))]);
      // Anything the job left behind in its process group goes with it.
      if (child.pid) {
        try {
          process.kill(-child.pid, 'SIGTERM');
          await new Promise((r) => setTimeout(r, 500));
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // the group is already empty
        }
      }
      source.destroy();
      finish({ exitCode: code, signal });
    });
  });
});
