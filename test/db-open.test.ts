import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';

/**
 * Opening the database in a fresh Node process, as the daemon does, and reporting which
 * optional packages got loaded: the migrator only when a migration is missing, the PostgreSQL
 * driver never on SQLite.
 */
const opener = `
import { registerHooks } from 'node:module';
const loaded = new Set();
registerHooks({ load(url, context, next) { const m = /node_modules\\/(@mikro-orm\\/[^/]+)/.exec(url); if (m) loaded.add(m[1]); return next(url, context); } });
const { collectTables } = await import('./core/db/core-tables.ts');
const { openDatabase } = await import('./core/db/orm.ts');
const { createLogger } = await import('./core/services/logger-service.ts');
const { builtinPlugins } = await import('./plugins/index.ts');
const { entities, migrations } = collectTables(process.env.ONLY_CORE ? [] : builtinPlugins);
const migrated = [];
const logger = createLogger({ level: 'info', write: (line) => { const r = JSON.parse(line); if (r.msg === 'database migrated') migrated.push(...r.applied); } });
const db = await openDatabase({ url: undefined, dataDir: process.env.DATA_DIR, entities, migrations, logger });
const rows = await db.orm.em.getConnection().execute('select count(*) as n from bp_jobs');
await db.close();
console.log(JSON.stringify({ migrated, loaded: [...loaded].sort(), jobs: Number(rows[0].n) }));
`;

async function open(dataDir: string, env: Record<string, string> = {}): Promise<{ migrated: string[]; loaded: string[]; jobs: number }> {
  const { stdout } = await execa(process.execPath, ['--input-type=module', '-e', opener], { cwd: process.cwd(), env: { DATA_DIR: dataDir, ...env } });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-db-open-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

test('a new database is migrated; the PostgreSQL driver is never loaded for SQLite', async () => {
  const first = await open(dataDir, { ONLY_CORE: '1' });
  expect(first.migrated).toContain('core/0001-jobs');
  expect(first.migrated.every((name) => name.startsWith('core/'))).toBe(true);
  expect(first.loaded).toContain('@mikro-orm/migrations');
  expect(first.loaded).not.toContain('@mikro-orm/postgresql');
});

test('only what is missing is applied: the plugins’ migrations, then nothing and no migrator', async () => {
  const second = await open(dataDir);
  expect(second.migrated.length).toBeGreaterThan(0);
  expect(second.migrated.every((name) => !name.startsWith('core/'))).toBe(true);

  const third = await open(dataDir);
  expect(third).toEqual({ migrated: [], loaded: expect.not.arrayContaining(['@mikro-orm/migrations']), jobs: 0 });
  expect(third.loaded).toContain('@mikro-orm/sqlite');
  expect(third.loaded).not.toContain('@mikro-orm/postgresql');
});
