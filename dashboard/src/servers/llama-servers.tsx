import { useMutation, useQuery, useSubscription } from '@urql/preact';
import {
  DashboardLlamaInstancesDocument,
  DashboardLlamaInstanceUpdatedDocument,
  DashboardRestartLlamaInstanceDocument,
  DashboardStartLlamaInstanceDocument,
  DashboardStopLlamaInstanceDocument,
  type DashboardLlamaInstanceFragment,
} from '../../../schema/generated/graphql.ts';
import { ErrorNote } from '../components/common.tsx';
import type { ServerPanelProps } from './registry.tsx';
import { runMutation, ServerTable } from './server-table.tsx';
import { keepLatest, useLiveList } from './use-live-list.ts';

const key = (s: DashboardLlamaInstanceFragment) => s.name;

export function LlamaServers({ canOperate, compact }: ServerPanelProps) {
  const [{ data, error }] = useQuery({ query: DashboardLlamaInstancesDocument });
  const [updates] = useSubscription({ query: DashboardLlamaInstanceUpdatedDocument }, (previous: DashboardLlamaInstanceFragment[] | undefined, event) => keepLatest(key)(previous, event.llamaInstanceUpdated));
  const [, start] = useMutation(DashboardStartLlamaInstanceDocument);
  const [, stop] = useMutation(DashboardStopLlamaInstanceDocument);
  const [, restart] = useMutation(DashboardRestartLlamaInstanceDocument);
  const instances = useLiveList(
    data?.llamaInstances.edges.map((e) => e.node),
    updates.data ?? [],
    key,
  );
  const active = (status: string) => status !== 'stopped' && status !== 'failed';
  return (
    <>
      <ErrorNote error={error} what="llama.cpp instances" />
      <ServerTable
        compact={compact}
        canOperate={canOperate}
        empty={error ? '' : "No llama.cpp instances."}
        rows={instances.map((s) => ({
          name: s.name,
          status: s.status,
          message: s.message,
          modelPath: s.modelPath,
          endpoint: s.baseUrl,
          gpus: s.gpus,
          jobId: s.jobId,
          extra: s.stats?.tokensPerSecond ? <div class="muted small">{s.stats.tokensPerSecond.toFixed(1)} tok/s</div> : null,
          actions: active(s.status)
            ? [
                { label: 'Stop', run: () => runMutation(stop({ name: s.name })) },
                { label: 'Restart', run: () => runMutation(restart({ name: s.name })) },
              ]
            : [{ label: 'Start', run: () => runMutation(start({ name: s.name })) }],
        }))}
      />
    </>
  );
}
