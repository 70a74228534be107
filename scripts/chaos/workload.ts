import type { ChaosDaemon } from './daemon.ts';
import type { Payload } from './payload.ts';
import type { Random } from './random.ts';

/** How the daemon answered a submission: an id, an error, or nothing (it died mid-request). */
export type SubmitOutcome = 'accepted' | 'rejected' | 'unknown';

/** One job or group the test asked for, with everything the checks need to know about it. */
export interface Submission {
  tag: string;
  round: number;
  shape: 'short' | 'long' | 'fail' | 'chatty' | 'group';
  /** A single job's payload; absent for groups. */
  payload?: Payload;
  /** A group's steps, tagged `<tag>.s1`, `<tag>.s2`, … */
  steps?: Payload[];
  longRunning: boolean;
  outcome: SubmitOutcome;
  id?: string;
  error?: string;
  /** A cancel was sent (whatever came of it). */
  cancelRequested: boolean;
}

const shapes = { short: 4, long: 2, fail: 2, chatty: 1, group: 1.5 } as const;

/** A random job or group; tags are `<runId>-j<n>` and `<runId>-g<n>`. */
export function randomSubmission(random: Random, runId: string, serial: number, round: number): Submission {
  const shape = random.weighted(shapes);
  const base = { round, outcome: 'unknown' as const, cancelRequested: false, longRunning: false };
  if (shape === 'group') {
    const steps = Array.from({ length: random.int(2, 3) }, () => (random.chance(0.2) ? failPayload(random) : shortPayload(random)));
    return { ...base, tag: `${runId}-g${serial}`, shape, steps };
  }
  const payload =
    shape === 'short' ? shortPayload(random)
    : shape === 'long' ? { sleepMs: random.int(1_000, 4_000), lines: random.int(2, 12), exitCode: 0 }
    : shape === 'fail' ? failPayload(random)
    : { sleepMs: random.int(0, 300), lines: random.int(2_000, 15_000), exitCode: 0 };
  return { ...base, tag: `${runId}-j${serial}`, shape, payload, longRunning: random.chance(0.1) };
}

function shortPayload(random: Random): Payload {
  return { sleepMs: random.int(0, 250), lines: random.int(1, 6), exitCode: 0 };
}

function failPayload(random: Random): Payload {
  return { sleepMs: random.int(0, 600), lines: random.int(0, 6), exitCode: random.int(1, 9) };
}

const startJob = 'mutation($tag: String!, $payload: ChaosPayloadInput!, $longRunning: Boolean) { chaosStartJob(tag: $tag, payload: $payload, longRunning: $longRunning) }';
const startGroup = 'mutation($tag: String!, $steps: [ChaosPayloadInput!]!) { chaosStartGroup(tag: $tag, steps: $steps) }';

/** Submits and records the answer on `submission`; never throws. */
export async function submit(daemon: ChaosDaemon, submission: Submission): Promise<void> {
  try {
    const reply = submission.steps
      ? await daemon.gql<{ chaosStartGroup: string }>(startGroup, { tag: submission.tag, steps: submission.steps })
      : await daemon.gql<{ chaosStartJob: string }>(startJob, { tag: submission.tag, payload: submission.payload, longRunning: submission.longRunning });
    const id = reply.data && ('chaosStartGroup' in reply.data ? reply.data.chaosStartGroup : reply.data.chaosStartJob);
    if (id) {
      submission.outcome = 'accepted';
      submission.id = id;
    } else {
      submission.outcome = 'rejected';
      submission.error = reply.errors?.map((e) => `${e.extensions?.code ?? ''} ${e.message}`.trim()).join('; ') ?? 'no id in the reply';
    }
  } catch (error) {
    submission.outcome = 'unknown';
    submission.error = error instanceof Error ? error.message : String(error);
  }
}

/** Sends cancelJob without waiting for it to settle the job (it waits up to killGraceSeconds). */
export function cancel(daemon: ChaosDaemon, submission: Submission): Promise<void> {
  submission.cancelRequested = true;
  return daemon.gql('mutation($id: ID!) { cancelJob(id: $id) { status } }', { id: submission.id }).then(
    () => undefined,
    () => undefined,
  );
}
