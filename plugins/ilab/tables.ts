/**
 * Parsers for the tables `ilab` prints with its `print_table` helper: a `+---+` border, a header
 * row, a border, the rows, a border. Columns are found by their header names, so the 3-column
 * and 4-column variants of every ilab version parse alike. Widths are counted in code points,
 * as Python's `len` counts them, so unicode names and names containing `|` stay intact.
 */

/** One printed table, with the line printed just before it (a `Run from …` group heading). */
export interface ParsedTable {
  heading: string | null;
  headers: string[];
  rows: string[][];
}

const border = /^\+(-+\+)+$/;

/** Every table in `text`, in order. Lines that are not part of a table are ignored. */
export function parseTables(text: string): ParsedTable[] {
  const lines = text.split(/\r?\n/).map((line) => line.trimEnd());
  const tables: ParsedTable[] = [];
  let i = 0;
  let heading: string | null = null;
  while (i < lines.length) {
    const line = lines[i];
    if (!border.test(line) || !lines[i + 1]?.startsWith('|') || !border.test(lines[i + 2] ?? '')) {
      if (line.trim() !== '' && !border.test(line) && !line.startsWith('|')) heading = line.trim();
      else if (line.trim() === '') heading = null;
      i++;
      continue;
    }
    const widths = line.slice(1, -1).split('+').map((segment) => segment.length - 2);
    const headers = splitRow(lines[i + 1], widths);
    if (!headers) {
      i++;
      continue;
    }
    const rows: string[][] = [];
    i += 3;
    while (i < lines.length && lines[i].startsWith('|')) {
      const row = splitRow(lines[i], widths);
      if (row) rows.push(row);
      i++;
    }
    if (i < lines.length && border.test(lines[i])) i++;
    tables.push({ heading, headers, rows });
    heading = null;
  }
  return tables;
}

/** Cells of one `| a | b |` row, cut at the border's column positions. */
function splitRow(line: string, widths: number[]): string[] | undefined {
  const chars = Array.from(line);
  const expected = widths.reduce((sum, w) => sum + w + 3, 1);
  if (chars.length === expected) {
    const cells: string[] = [];
    let at = 1;
    for (const width of widths) {
      cells.push(chars.slice(at + 1, at + 1 + width).join('').trim());
      at += width + 3;
    }
    return cells;
  }
  // A row that does not line up with the border (a terminal that wrapped it): split on bars.
  const cells = line.replace(/^\||\|$/g, '').split('|').map((cell) => cell.trim());
  return cells.length === widths.length ? cells : undefined;
}

/** The value of a named column (case-insensitive), or undefined when the table lacks it. */
export function column(table: ParsedTable, row: string[], name: string): string | undefined {
  const at = table.headers.findIndex((h) => h.toLowerCase() === name.toLowerCase());
  return at === -1 ? undefined : row[at];
}

/** A model as `ilab model list` prints it. */
export interface IlabModel {
  name: string;
  /** `%Y-%m-%d %H:%M:%S`, local time of the host. */
  lastModified: string;
  /** `15.2 GB`: one decimal, 1024-based. */
  size: string;
  /** Only ilab ≥ 0.24 prints it. */
  absolutePath: string | null;
}

/** Parses `ilab model list`: `Model Name`, `Last Modified`, `Size` and, from 0.24, `Absolute path`. */
export function parseModelList(text: string): IlabModel[] {
  const models: IlabModel[] = [];
  for (const table of parseTables(text)) {
    if (!table.headers.some((h) => h.toLowerCase() === 'model name')) continue;
    for (const row of table.rows) {
      const name = column(table, row, 'Model Name');
      if (!name) continue;
      models.push({
        name,
        lastModified: column(table, row, 'Last Modified') ?? '',
        size: column(table, row, 'Size') ?? '',
        absolutePath: column(table, row, 'Absolute path') || null,
      });
    }
  }
  return models;
}

/** A dataset file as `ilab data list` prints it. */
export interface IlabDataset {
  /** Path relative to the datasets directory. */
  dataset: string;
  /** Only ilab ≥ 0.23 prints it (`General` when the file name names no model). */
  model: string | null;
  createdAt: string;
  fileSize: string;
  /** The group heading: the run id (`2025-01-28_021103`) or, before 0.23, `<model> <timestamp>`. */
  run: string | null;
}

/** Parses `ilab data list`: one table per run, with or without the `Model` column. */
export function parseDataList(text: string): IlabDataset[] {
  const datasets: IlabDataset[] = [];
  for (const table of parseTables(text)) {
    if (!table.headers.some((h) => h.toLowerCase() === 'dataset')) continue;
    const run = table.heading?.replace(/^Run from /, '') ?? null;
    for (const row of table.rows) {
      const dataset = column(table, row, 'Dataset');
      if (!dataset) continue;
      datasets.push({
        dataset,
        model: column(table, row, 'Model') ?? null,
        createdAt: column(table, row, 'Created At') ?? '',
        fileSize: column(table, row, 'File size') ?? '',
        run,
      });
    }
  }
  return datasets;
}
