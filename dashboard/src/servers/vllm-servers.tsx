import { useMutation, useQuery, useSubscription } from '@urql/preact';
import {
  DashboardRestartVllmServerDocument,
  DashboardStopVllmServerDocument,
  DashboardVllmServerChangedDocument,
  DashboardVllmServersDocument,
  type DashboardVllmServerFragment,
} from '../../../schema/generated/graphql.ts';
import { ErrorNote } from '../components/common.tsx';
import type { ServerPanelProps } from './registry.tsx';
import { runMutation, ServerTable } from './server-table.tsx';
import { keepLatest, useLiveList } from './use-live-list.ts';

const key = (s: DashboardVllmServerFragment) => s.name;

export function VllmServers({ canOperate, compact }: ServerPanelProps) {
  const [{ data, error }] = useQuery({ query: DashboardVllmServersDocument });
  const [updates] = useSubscription({ query: DashboardVllmServerChangedDocument }, (previous: DashboardVllmServerFragment[] | undefined, event) => keepLatest(key)(previous, event.vllmServerStatusChanged));
  const [, stop] = useMutation(DashboardStopVllmServerDocument);
  const [, restart] = useMutation(DashboardRestartVllmServerDocument);
  const servers = useLiveList(data?.vllmServers, updates.data ?? [], key);
  const active = (status: string) => status === 'starting' || status === 'loading' || status === 'running';
  return (
    <>
      <ErrorNote error={error} what="vLLM servers" />
      <ServerTable
        compact={compact}
        canOperate={canOperate}
        empty={error ? '' : "No vLLM servers."}
        rows={servers.map((s) => ({
          name: s.name,
          status: s.status,
          message: s.message,
          modelPath: s.modelPath,
          endpoint: s.url,
          gpus: s.gpus,
          jobId: s.jobId,
          actions: active(s.status)
            ? [
                { label: 'Stop', run: () => runMutation(stop({ name: s.name })) },
                { label: 'Restart', run: () => runMutation(restart({ name: s.name })) },
              ]
            : [{ label: 'Start', run: () => runMutation(restart({ name: s.name })) }],
        }))}
      />
    </>
  );
}
