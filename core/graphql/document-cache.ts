/**
 * A least-recently-used cache of parsed GraphQL documents keyed by their text, bounded by the
 * total length of the texts it keeps as well as by count: a parsed document costs tens of
 * times its text (30 to 80 bytes a character), so 1,000 documents of 400 KB each would hold
 * gigabytes; the defaults keep each cache to about 10 MiB at worst. Texts longer than
 * `maxKeyChars` are never kept (they are parsed each time, which is what they cost anyway).
 */
export interface DocumentCache<T> {
  get(key: string): T | undefined;
  set(key: string, value: T): void;
  readonly size: number;
  readonly chars: number;
}

export function createDocumentCache<T>({ maxEntries = 1000, maxChars = 128 * 1024, maxKeyChars = 8 * 1024 } = {}): DocumentCache<T> {
  const entries = new Map<string, T>();
  let chars = 0;
  return {
    get(key) {
      const value = entries.get(key);
      if (value === undefined) return undefined;
      // Map keeps insertion order: re-inserting marks the entry as the most recent.
      entries.delete(key);
      entries.set(key, value);
      return value;
    },
    set(key, value) {
      if (key.length > maxKeyChars) return;
      if (entries.delete(key)) chars -= key.length;
      entries.set(key, value);
      chars += key.length;
      while (entries.size > maxEntries || chars > maxChars) {
        const oldest = entries.keys().next().value!;
        entries.delete(oldest);
        chars -= oldest.length;
      }
    },
    get size() {
      return entries.size;
    },
    get chars() {
      return chars;
    },
  };
}
