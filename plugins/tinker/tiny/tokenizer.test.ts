import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOS, decode, encode, EOS, tokenizerInfo, writeTokenizerFiles } from './tokenizer.ts';

describe('byte tokenizer', () => {
  it('round-trips UTF-8 and drops special ids when decoding', () => {
    const text = 'héllo, wörld ✓';
    expect(encode(text)).toEqual([...Buffer.from(text)]);
    expect(decode([BOS, ...encode(text), EOS])).toBe(text);
    expect(tokenizerInfo()).toEqual({ vocab_size: 259, bos_token_id: 256, eos_token_id: 257, pad_token_id: 258, kind: 'byte' });
  });

  it('writes Hugging Face ByteLevel tokenizer files covering all 259 ids', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tok-'));
    try {
      expect(await writeTokenizerFiles(dir)).toEqual(['tokenizer.json', 'tokenizer_config.json']);
      const tokenizer = JSON.parse(await readFile(path.join(dir, 'tokenizer.json'), 'utf8'));
      const ids = Object.values(tokenizer.model.vocab as Record<string, number>).sort((a, b) => a - b);
      expect(ids).toEqual(Array.from({ length: 259 }, (_, i) => i));
      expect(tokenizer.model.vocab['Ġ']).toBe(32); // GPT-2's byte-level char for a space
      expect(tokenizer.model.vocab['a']).toBe(97);
      expect(tokenizer.added_tokens.map((t: { content: string }) => t.content)).toEqual(['<bos>', '<eos>', '<pad>']);
      const config = JSON.parse(await readFile(path.join(dir, 'tokenizer_config.json'), 'utf8'));
      expect(config).toMatchObject({ bos_token: '<bos>', eos_token: '<eos>', pad_token: '<pad>' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
