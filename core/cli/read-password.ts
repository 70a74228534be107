/**
 * Reads a password from stdin: a terminal gets a prompt on stderr and no echo; a pipe is read to
 * its end, one trailing newline dropped (`printf %s "$PW" | …` and `echo "$PW" | …` agree).
 */
export async function readPassword(input: NodeJS.ReadStream = process.stdin, prompt: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (!input.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  prompt.write('Password: ');
  input.setRawMode(true);
  input.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (text: string) => {
        for (const char of text) {
          if (char === '\r' || char === '\n') return done(() => resolve(typed));
          if (char === '\u0003') return done(() => reject(new Error('interrupted')));
          if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
          else typed += char;
        }
      };
      const done = (settle: () => void) => {
        input.off('data', onData);
        input.pause();
        prompt.write('\n');
        settle();
      };
      input.on('data', onData);
      input.resume();
    });
  } finally {
    input.setRawMode(false);
  }
}
