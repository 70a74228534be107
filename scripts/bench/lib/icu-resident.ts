import { open, readFile, readlink } from 'node:fs/promises';
import { execa } from 'execa';

/**
 * MiB of the ICU data (`icudt*_dat`, linked into the Node binary) a process has paged in, from
 * `/proc/<pid>/pagemap`'s present bits over the symbol's address range. Official Node builds
 * embed the data, so `/proc/<pid>/maps` shows no `icudt` file; the pages count in the binary's
 * mapping once `Intl` (a date formatter, a collator) touches them. Null when the symbol or
 * `readelf` is missing, or the binary is position-independent (its load address would be needed).
 */
export async function icuResidentMiB(pid: number): Promise<number | null> {
  const binary = await readlink(`/proc/${pid}/exe`);
  const symbols = await execa('readelf', ['-sW', binary], { reject: false });
  const elfHeader = await execa('readelf', ['-hW', binary], { reject: false });
  if (symbols.exitCode !== 0 || !/Type:\s+EXEC/.test(String(elfHeader.stdout))) return null;
  const line = String(symbols.stdout).split('\n').find((l) => /\sicudt\d+l?_dat$/.test(l));
  if (!line) return null;
  const [, value, size] = line.trim().split(/\s+/);
  const start = Number.parseInt(value, 16);
  const bytes = Number(size.startsWith('0x') ? Number.parseInt(size, 16) : size);
  const page = 4096;
  const first = Math.floor(start / page);
  const count = Math.ceil((start + bytes) / page) - first;
  // Mapped at all? (Otherwise pagemap reads zeros, which also reads as 0 MiB.)
  const maps = await readFile(`/proc/${pid}/maps`, 'utf8');
  if (!maps.includes(binary)) return null;
  const handle = await open(`/proc/${pid}/pagemap`, 'r');
  try {
    const buffer = Buffer.alloc(count * 8);
    await handle.read(buffer, 0, buffer.length, first * 8);
    let present = 0;
    for (let i = 0; i < count; i++) if (buffer.readBigUInt64LE(i * 8) >> 63n) present++;
    return (present * page) / 2 ** 20;
  } finally {
    await handle.close();
  }
}
