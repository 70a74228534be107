/**
 * Decodes UTF-8 the way Python's `surrogateescape` does: each byte that does not start a valid
 * sequence (Go's `utf8.DecodeRune` rules: shortest form, no surrogates, at most U+10FFFF) becomes
 * the lone surrogate U+DC00 + byte, and decoding goes on at the next byte. A real U+FFFD in the
 * input stays U+FFFD, so callers can still tell the two apart (Go's JSON encoder writes `\ufffd`
 * for each invalid byte and the character itself for U+FFFD).
 */
export function decodeSurrogateEscape(bytes: Uint8Array): string {
  // Fast path: valid UTF-8 decodes as usual.
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    // fall through to the byte-by-byte decode
  }
  let out = '';
  let at = 0;
  const cont = (i: number, lo = 0x80, hi = 0xbf) => at + i < bytes.length && bytes[at + i] >= lo && bytes[at + i] <= hi;
  while (at < bytes.length) {
    const b0 = bytes[at];
    let size = 0;
    if (b0 < 0x80) size = 1;
    else if (b0 >= 0xc2 && b0 <= 0xdf && cont(1)) size = 2;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      const [lo, hi] = b0 === 0xe0 ? [0xa0, 0xbf] : b0 === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
      if (cont(1, lo, hi) && cont(2)) size = 3;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      const [lo, hi] = b0 === 0xf0 ? [0x90, 0xbf] : b0 === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
      if (cont(1, lo, hi) && cont(2) && cont(3)) size = 4;
    }
    if (size === 0) {
      out += String.fromCharCode(0xdc00 + b0);
      at += 1;
    } else {
      out += new TextDecoder().decode(bytes.subarray(at, at + size));
      at += size;
    }
  }
  return out;
}
