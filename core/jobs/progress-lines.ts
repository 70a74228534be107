// CSI sequences (colours, cursor moves) and OSC titles, as ilab, tqdm and torchrun print them.
const ansi = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)/g;

export function stripAnsi(text: string): string {
  return text.replace(ansi, '');
}

/**
 * Log lines as a progress parser sees them: colours removed, and every `\r` frame of a progress
 * bar as its own line, so the newest frame is parsed last.
 */
export function progressLines(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    for (const frame of stripAnsi(line).split('\r')) if (frame.trim() !== '') out.push(frame);
  }
  return out;
}
