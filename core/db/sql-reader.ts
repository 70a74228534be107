import type { Database } from './orm.ts';

/** Runs a read-only SQL statement with `?` parameters and returns plain rows. */
export type SqlReader = (sql: string, params?: readonly unknown[]) => Promise<Record<string, unknown>[]>;

/**
 * Plain-SQL reads for hot listing paths. On SQLite it uses better-sqlite3 prepared statements
 * directly (prepared once per statement text, then reused), which is several times faster than
 * going through the ORM's async connection layer; on PostgreSQL it uses the ORM connection.
 */
export async function createSqlReader(db: Database): Promise<SqlReader> {
  const connection = db.orm.em.getConnection() as unknown as {
    execute<T>(sql: string, params?: readonly unknown[]): Promise<T>;
    getNativeClient?(): Promise<{ prepare(sql: string): { all(...params: unknown[]): unknown[] } }>;
  };
  if (db.dialect !== 'sqlite' || !connection.getNativeClient) return (sql, params = []) => connection.execute(sql, params);
  const native = await connection.getNativeClient();
  const statements = new Map<string, { all(...params: unknown[]): unknown[] }>();
  return async (sql, params = []) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = native.prepare(sql);
      // Texts are few (a handful of column lists, filters and page sizes); this bounds memory.
      if (statements.size >= 200) statements.delete(statements.keys().next().value!);
      statements.set(sql, statement);
    }
    return statement.all(...params) as Record<string, unknown>[];
  };
}
