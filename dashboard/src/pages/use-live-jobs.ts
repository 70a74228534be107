import { useSubscription } from '@urql/preact';
import { useMemo } from 'preact/hooks';
import { DashboardJobsUpdatedDocument, type DashboardJobRowFragment } from '../../../schema/generated/graphql.ts';

/**
 * A job list kept live: the query's page, with every `jobUpdated` event put over it — a job
 * that starts to match (a new one) is added on top, one that stops matching leaves.
 */
export function useLiveJobs(initial: readonly DashboardJobRowFragment[] | undefined, matches: (job: DashboardJobRowFragment) => boolean): DashboardJobRowFragment[] {
  const [updates] = useSubscription({ query: DashboardJobsUpdatedDocument }, (previous: Map<string, DashboardJobRowFragment> | undefined, event) => {
    const next = new Map(previous);
    next.set(event.jobUpdated.id, event.jobUpdated);
    return next;
  });
  return useMemo(() => {
    const byId = new Map<string, DashboardJobRowFragment>();
    for (const job of initial ?? []) byId.set(job.id, job);
    for (const [id, job] of updates.data ?? []) byId.set(id, job);
    // Ids end in the creation time in ns: newest first, as the API lists them.
    return [...byId.values()].filter(matches).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  }, [initial, updates.data, matches]);
}
