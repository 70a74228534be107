/**
 * The per-job supervisor: a tiny process that owns one job's child, the way conmon owns a
 * container. The daemon starts it detached (its own session), so it outlives a daemon crash; it
 * writes the child's output to the log (in arrival order, under the size cap) and its exit
 * status to a file, which is how a restarted daemon settles a job with its real exit code.
 *
 * Run as `node supervisor.ts <spec.json>`. Standalone on purpose: only node: builtins, so Node
 * strips its types and starts it in tens of milliseconds.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';

interface SupervisorSpec {
  jobId: string;
  command: string;
  args: string[];
  cwd: string | null;
  env: Record<string, string>;
  logPath: string;
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

let logFd = openSync(spec.logPath, 'a+');
let logSize = fstatSync(logFd).size;
let droppedBytes = 0;

function writeAtomic(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value)}\n`);
  renameSync(`${path}.tmp`, path);
}

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
  const fd = openSync(tmp, 'w');
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
      env: spec.env,
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
