const encoder = new TextEncoder();

/** UTF-8 bytes of a line plus its newline (ASCII, the usual case, without encoding). */
function lineBytes(line: string): number {
  // eslint-disable-next-line no-control-regex
  return (/^[\x00-\x7f]*$/.test(line) ? line.length : encoder.encode(line).length) + 1;
}

/**
 * The lines of one job log the page holds: a window of the file, `start` being the byte offset
 * of its first line. Following appends; when more than `cap` lines are held the oldest are
 * dropped (and `start` moves past them), so a log growing at 10 MB/s costs bounded memory.
 * "Load earlier" reads the lines before `start` from the daemon (`Job.logLines(before:)`).
 */
export class LogBuffer {
  lines: string[] = [];
  start = 0;
  /** Bumped on every change, so a component can re-render without copying the array. */
  version = 0;
  readonly cap: number;

  constructor(cap: number) {
    this.cap = cap;
  }

  reset(lines: string[], start: number): void {
    this.lines = lines;
    this.start = start;
    this.version++;
  }

  /** Appends followed lines; returns how many old lines were dropped from the front. */
  append(lines: readonly string[], cap = this.cap): number {
    for (const line of lines) this.lines.push(line);
    let dropped = 0;
    if (this.lines.length > cap) {
      dropped = this.lines.length - cap;
      // Line lengths, not file reads: exact for newline-terminated UTF-8 (a `\r\n` log drifts a byte a line).
      let bytes = 0;
      for (let i = 0; i < dropped; i++) bytes += lineBytes(this.lines[i]);
      this.lines.splice(0, dropped);
      this.start += bytes;
    }
    this.version++;
    return dropped;
  }

  /** Puts an earlier window in front. */
  prepend(lines: readonly string[], start: number): void {
    this.lines = [...lines, ...this.lines];
    this.start = start;
    this.version++;
  }

  get atBeginning(): boolean {
    return this.start <= 0;
  }
}
