import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { LogView } from '../components/log-view.tsx';
import { Status } from '../components/common.tsx';
import { jobHref } from '../router.ts';

export interface ServerRow {
  name: string;
  status: string;
  message: string | null;
  modelPath: string;
  endpoint: string;
  gpus: readonly number[];
  jobId: string | null;
  extra?: ComponentChildren;
  actions: { label: string; run(): Promise<unknown> }[];
}

/** Servers of one plugin: status, model, endpoint, GPUs, actions and their logs (the run's job log). */
export function ServerTable({ rows, compact, empty, canOperate }: { rows: ServerRow[]; compact?: boolean; /** Said when there are no rows; empty: nothing (an error says why already). */ empty: string; canOperate: boolean }) {
  const [logsOf, setLogsOf] = useState<string | undefined>();
  const [busy, setBusy] = useState<string | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  if (rows.length === 0) return empty ? <p class="muted">{empty}</p> : null;
  const shown = rows.find((r) => r.name === logsOf);
  return (
    <div>
      {problem ? <p class="error" role="alert">{problem}</p> : null}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              {compact ? null : <th scope="col">Model</th>}
              <th scope="col">Endpoint</th>
              <th scope="col">GPUs</th>
              {compact ? null : <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.name}>
                <th scope="row">{row.name}</th>
                <td>
                  <Status value={row.status} />
                  {row.message && !compact ? <div class="muted small">{row.message}</div> : null}
                  {row.extra}
                </td>
                {compact ? null : <td class="path">{row.modelPath}</td>}
                <td class="path">{row.endpoint}</td>
                <td>{row.gpus.length > 0 ? row.gpus.join(', ') : '–'}</td>
                {compact ? null : (
                  <td>
                    <div class="actions">
                    {canOperate
                      ? row.actions.map((action) => (
                          <button
                            type="button"
                            key={action.label}
                            disabled={busy !== undefined}
                            aria-label={`${action.label} ${row.name}`}
                            onClick={async () => {
                              setBusy(`${action.label} ${row.name}`);
                              setProblem(undefined);
                              try {
                                await action.run();
                              } catch (error) {
                                setProblem(`${action.label} ${row.name}: ${(error as Error).message}`);
                              } finally {
                                setBusy(undefined);
                              }
                            }}
                          >
                            {action.label}
                          </button>
                        ))
                      : null}
                    {row.jobId ? (
                      <button type="button" aria-expanded={logsOf === row.name} aria-label={`Logs of ${row.name}`} onClick={() => setLogsOf(logsOf === row.name ? undefined : row.name)}>
                        Logs
                      </button>
                    ) : null}
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {shown?.jobId ? (
        <div class="server-log">
          <h3>
            Log of {shown.name} (<a href={jobHref(shown.jobId)}>job {shown.jobId}</a>)
          </h3>
          <LogView jobId={shown.jobId} label={`Log of ${shown.name}`} />
        </div>
      ) : null}
    </div>
  );
}

/** Runs a mutation and turns its GraphQL error into a thrown one (for the row's message). */
export async function runMutation(promise: Promise<{ error?: { graphQLErrors: { message: string }[]; message: string } }>): Promise<void> {
  const result = await promise;
  if (result.error) throw new Error(result.error.graphQLErrors[0]?.message ?? result.error.message);
}
