import type * as G from '../schema/generated/graphql.ts';
import { operationText } from './operation-text.ts';

/** cli/operations.graphql, whose operations codegen types (schema/generated/graphql.ts). */
export const cliOperationsFile = new URL('./operations.graphql', import.meta.url);

/** Each operation of cli/operations.graphql with its result and variables types. */
export interface CliOperations {
  CliStatus: [G.CliStatusQuery, G.CliStatusQueryVariables];
  CliJobs: [G.CliJobsQuery, G.CliJobsQueryVariables];
  CliJob: [G.CliJobQuery, G.CliJobQueryVariables];
  CliJobLog: [G.CliJobLogQuery, G.CliJobLogQueryVariables];
  CliCancelJob: [G.CliCancelJobMutation, G.CliCancelJobMutationVariables];
  CliJobLogFollow: [G.CliJobLogFollowSubscription, G.CliJobLogFollowSubscriptionVariables];
  CliJobUpdated: [G.CliJobUpdatedSubscription, G.CliJobUpdatedSubscriptionVariables];
  CliGpus: [G.CliGpusQuery, G.CliGpusQueryVariables];
  CliGpuStats: [G.CliGpuStatsSubscription, G.CliGpuStatsSubscriptionVariables];
  CliGpuLeases: [G.CliGpuLeasesQuery, G.CliGpuLeasesQueryVariables];
}

/** The text of one of {@link CliOperations}, with its fragments. */
export function cliOperation(name: keyof CliOperations): Promise<string> {
  return operationText(cliOperationsFile, name);
}
