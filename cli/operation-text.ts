import { readFile } from 'node:fs/promises';

const files = new Map<string, Promise<Map<string, string>>>();

/**
 * The text of the named operation in a `.graphql` file, followed by every fragment it spreads
 * (transitively), so each request carries only what it runs. Definitions start at the
 * beginning of a line (`query Name`, `mutation Name`, `subscription Name`, `fragment Name`), as
 * in cli/operations.graphql; a cheap split, so the client never loads graphql-js to print.
 */
export async function operationText(file: URL, name: string): Promise<string> {
  let definitions = files.get(file.href);
  if (!definitions) {
    definitions = readFile(file, 'utf8').then(splitDefinitions);
    files.set(file.href, definitions);
  }
  const byName = await definitions;
  const operation = byName.get(name);
  if (operation === undefined) throw new Error(`${file.pathname}: no operation named ${name}`);
  const parts = [operation];
  const seen = new Set<string>();
  for (let i = 0; i < parts.length; i++) {
    for (const match of parts[i].matchAll(/\.\.\.\s*([A-Za-z_]\w*)/g)) {
      const fragment = match[1];
      if (seen.has(fragment) || fragment === 'on') continue;
      seen.add(fragment);
      const text = byName.get(`fragment:${fragment}`);
      if (text !== undefined) parts.push(text);
    }
  }
  return parts.join('\n');
}

function splitDefinitions(source: string): Map<string, string> {
  const byName = new Map<string, string>();
  const starts = [...source.matchAll(/^(query|mutation|subscription|fragment)\s+([A-Za-z_]\w*)/gm)];
  for (let i = 0; i < starts.length; i++) {
    const [, kind, name] = starts[i];
    const end = i + 1 < starts.length ? starts[i + 1].index : source.length;
    const text = source.slice(starts[i].index, end).replace(/\n#[^\n]*/g, '').trim();
    byName.set(kind === 'fragment' ? `fragment:${name}` : name, text);
  }
  return byName;
}
