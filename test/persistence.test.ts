import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { collectTables } from '../core/db/core-tables.ts';
import { openDatabase } from '../core/db/orm.ts';
import { createLogger } from '../core/services/logger-service.ts';
import { builtinPlugins } from '../plugins/index.ts';
import { jobsTestPlugin } from './helpers/jobs-test-plugin.ts';
import { findPostgresBin, startPostgres, type TestPostgres } from './helpers/postgres.ts';
import { startTestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const logger = createLogger({ level: 'silent' });

/** Migrations must build exactly the tables the entities describe, on every dialect. */
async function schemaDrift(url: string | undefined, dataDir: string): Promise<string> {
  const { entities, migrations } = collectTables(builtinPlugins);
  const db = await openDatabase({ url, dataDir, entities, migrations, logger });
  try {
    return (await db.orm.schema.getUpdateSchemaSQL({ wrap: false })).trim();
  } finally {
    await db.close();
  }
}

describe('SQLite (the embedded default)', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-sqlite-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  test('migrations of core and every built-in plugin match their entities', async () => {
    expect(await schemaDrift(undefined, dataDir)).toBe('');
  });

  test('the database lives in the data dir, in WAL mode, and migrations run once', async () => {
    const { entities, migrations } = collectTables(builtinPlugins);
    const db = await openDatabase({ url: undefined, dataDir, entities, migrations, logger });
    const connection = db.orm.em.getConnection();
    expect(await connection.execute('pragma journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    const applied = (await connection.execute('select name from bp_migrations order by id')) as { name: string }[];
    expect(applied.map((m) => m.name)).toEqual(migrations.map((m) => `${m.owner}/${m.migration.name}`));
    await db.close();
  });
});

describe.skipIf(!findPostgresBin())('PostgreSQL (database.url), a real server from Debian packages', () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(() => pg?.stop());

  test('migrations match the entities', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-pgdrift-'));
    expect(await schemaDrift(pg.url, dataDir)).toBe('');
    await rm(dataDir, { recursive: true, force: true });
  });

  test('the daemon runs jobs on PostgreSQL and keeps them across restarts', async () => {
    const config = { database: { url: pg.url } };
    const first = await startTestDaemon({ plugins: [jobsTestPlugin], config });
    const id = (await first.gql('mutation { testStartJob(fixture: "job-print", args: ["3", "4"]) }')).data.testStartJob;
    await waitFor(async () => ((await first.gql('query($id: ID!) { job(id: $id) { status } }', { id })).data.job.status === 'failed' ? true : undefined));
    await first.stop();

    const second = await startTestDaemon({ plugins: [jobsTestPlugin], config });
    const job = (await second.gql('query($id: ID!) { job(id: $id) { status exitCode labels { key value } } jobs(first: 5) { edges { node { id } } } }', { id })).data;
    expect(job.job).toEqual({ status: 'failed', exitCode: 4, labels: [{ key: 'fixture', value: 'job-print' }] });
    expect(job.jobs.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(id);
    await second.stop();
  });
});
