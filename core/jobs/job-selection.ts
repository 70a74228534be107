import type { GraphQLResolveInfo } from 'graphql';
import { selectedFieldNames } from '../graphql/selected-fields.ts';
import type { JobField } from './job-store.ts';

/**
 * The record properties each field of the GraphQL `Job` type reads. A field missing here (one a
 * plugin adds to `Job`, or a new one) makes a listing read every column, so it is always safe;
 * listing a field with too few properties is not, and test/jobs-selection.test.ts checks them.
 */
const jobFieldReads: Record<string, readonly JobField[]> = {
  __typename: [],
  id: ['id'],
  kind: ['kind'],
  plugin: ['plugin'],
  status: ['status'],
  command: ['command'],
  args: ['args'],
  cwd: ['cwd'],
  pid: ['pid'],
  exitCode: ['exitCode'],
  signal: ['signal'],
  logPath: ['logPath'],
  createdAt: ['createdAt'],
  startedAt: ['startedAt'],
  finishedAt: ['finishedAt'],
  parentId: ['parentId'],
  parent: ['parentId'],
  children: ['id'],
  labels: ['labels'],
  label: ['labels'],
  progress: ['progress'],
  progressMessage: ['progressMessage'],
  failureReason: ['failureReason'],
  gpus: ['gpus'],
  waitingFor: ['id', 'status'],
  logSize: ['logPath'],
  logExists: ['logPath'],
  log: ['id', 'logPath'],
  logLines: ['id', 'logPath'],
};

/**
 * What a `jobs` connection query needs of each job: the properties its selection of
 * `edges { node { … } }` reads (`id` is always read, for cursors), or undefined for all of them.
 */
export function connectionJobFields(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): JobField[] | undefined {
  const fields = new Set<JobField>(['id']);
  for (const name of selectedFieldNames(info, ['edges', 'node'])) {
    const reads = Object.hasOwn(jobFieldReads, name) ? jobFieldReads[name] : undefined;
    if (reads === undefined) return undefined;
    for (const field of reads) fields.add(field);
  }
  return [...fields];
}
