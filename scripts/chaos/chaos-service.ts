import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, type JobRecord, type PluginServices } from '../../core/plugin-api.ts';
import { decodePayload, encodePayload, payloadProblem, tagPattern, wrapperArgs, type Payload } from './payload.ts';

const wrapperPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'job-wrapper.sh');
const groupKind = 'chaos-group';

export interface ChaosConfig {
  /** Absolute path of the ground-truth ledger the wrapper appends to. */
  ledger: string;
}

/** The chaos plugin's runtime API. */
export interface ChaosApi {
  startJob(tag: string, payload: Payload, options?: { longRunning?: boolean }): Promise<JobRecord>;
  /** A group job whose steps run one after another; the first that fails ends it as failed. */
  startGroup(tag: string, steps: Payload[]): Promise<JobRecord>;
}

/** Starts wrapped payloads through the public job service, and runs (and resumes) groups. */
export function createChaosService(services: PluginServices<ChaosConfig>): ChaosApi {
  const { jobs, logger, lifecycle, config } = services;

  const startJob = (tag: string, payload: Payload, options: { longRunning?: boolean; parentId?: string } = {}) => {
    checkTag(tag);
    const problem = payloadProblem(payload);
    if (problem) throw new InputError(`Invalid payload: ${problem}`);
    return jobs.start({
      idPrefix: 'x',
      kind: 'chaos-job',
      command: '/bin/sh',
      args: [wrapperPath, ...wrapperArgs(config.ledger, tag, payload)],
      env: { CHAOS_JOB_TAG: tag },
      labels: { chaosTag: tag },
      parentId: options.parentId,
      longRunning: options.longRunning,
    });
  };

  // Steps are found again by tag, so a resumed group never starts a step twice.
  const advance = async (group: JobRecord) => {
    const [tag, ...encoded] = group.args;
    const children = await jobs.list({ parentId: group.id });
    for (const [index, step] of encoded.map(decodePayload).entries()) {
      const stepTag = `${tag}.s${index + 1}`;
      const child = children.find((c) => c.labels.chaosTag === stepTag) ?? (await startJob(stepTag, step, { parentId: group.id }));
      const done = await jobs.wait(child.id, { signal: lifecycle.signal });
      if (done.status !== 'succeeded') {
        await jobs.settle(group.id, { status: 'failed', reason: `step ${index + 1} ${done.status}` });
        return;
      }
    }
    await jobs.settle(group.id, { status: 'succeeded' });
  };
  const run = (group: JobRecord) => {
    void advance(group).catch((error) => {
      // A stopping daemon leaves the group running; the next start resumes it.
      if (!lifecycle.signal.aborted) logger.error('chaos group failed', { job: group.id, error });
    });
  };
  jobs.registerGroupResumer(groupKind, run);

  return {
    startJob: (tag, payload, options) => startJob(tag, payload, options),
    async startGroup(tag, steps) {
      checkTag(tag);
      if (steps.length === 0 || steps.length > 10) throw new InputError('A group has 1 to 10 steps');
      for (const step of steps) {
        const problem = payloadProblem(step);
        if (problem) throw new InputError(`Invalid step: ${problem}`);
      }
      const group = await jobs.createGroup({ idPrefix: 'xg', kind: groupKind, command: groupKind, args: [tag, ...steps.map(encodePayload)], labels: { chaosTag: tag } });
      run(group);
      return group;
    },
  };
}

function checkTag(tag: string): void {
  if (!tagPattern.test(tag)) throw new InputError(`Invalid tag: expected ${tagPattern.source}`);
}
