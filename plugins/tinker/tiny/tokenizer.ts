/**
 * TinyLM's byte tokenizer: ids 0–255 are the UTF-8 bytes, then `<bos>`=256, `<eos>`=257,
 * `<pad>`=258 (V = 259).
 *
 * @module
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Vocabulary size: 256 bytes + 3 special tokens. */
export const VOCAB_SIZE = 259;
/** `<bos>`: starts every train_job row. */
export const BOS = 256;
/** `<eos>`: ends every train_job row; stops sampling only when listed in `stop_token_ids`. */
export const EOS = 257;
/** `<pad>`: fills the context window before position 0. */
export const PAD = 258;

/** The UTF-8 bytes of `text` as token ids (no special tokens added). */
export function encode(text: string): number[] {
  return [...Buffer.from(text, 'utf8')];
}

/** The bytes among `tokens` (special ids dropped), as raw bytes. */
export function decodeBytes(tokens: readonly number[]): Buffer {
  return Buffer.from(tokens.filter((t) => t >= 0 && t < 256));
}

/** The text of `tokens` (special ids dropped; invalid UTF-8 becomes U+FFFD). */
export function decode(tokens: readonly number[]): string {
  return decodeBytes(tokens).toString('utf8');
}

/** The bwp/1 `tokenizer_info` result. */
export function tokenizerInfo() {
  return { vocab_size: VOCAB_SIZE, bos_token_id: BOS, eos_token_id: EOS, pad_token_id: PAD, kind: 'byte' as const };
}

/** Byte → printable char map of GPT-2's ByteLevel pre-tokenizer, so the HF files decode bytes. */
function byteLevelChars(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const chars: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) chars[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + extra++);
  return chars;
}

/**
 * Writes a minimal Hugging Face `tokenizer.json` + `tokenizer_config.json` describing this
 * tokenizer (ByteLevel BPE with no merges), so `AutoTokenizer.from_pretrained(dir)` works
 * offline. Returns the file names written.
 */
export async function writeTokenizerFiles(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const chars = byteLevelChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => (vocab[c] = i));
  const special = [
    ['<bos>', BOS],
    ['<eos>', EOS],
    ['<pad>', PAD],
  ] as const;
  for (const [content, id] of special) vocab[content] = id;
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special.map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: [] },
  };
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: '<bos>',
    eos_token: '<eos>',
    pad_token: '<pad>',
    model_max_length: 1_000_000,
    clean_up_tokenization_spaces: false,
  };
  // Write-then-rename: several workers may (re)write a shared directory at once.
  const put = async (name: string, text: string) => {
    const tmp = path.join(dir, `.${name}.${process.pid}.tmp`);
    await writeFile(tmp, text);
    await rename(tmp, path.join(dir, name));
  };
  await put('tokenizer.json', `${JSON.stringify(tokenizer)}\n`);
  await put('tokenizer_config.json', `${JSON.stringify(config, null, 2)}\n`);
  return ['tokenizer.json', 'tokenizer_config.json'];
}
