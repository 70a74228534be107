import WebSocket from 'ws';
import { mixedString, wrongTypedValue } from './payloads.ts';
import type { Prng } from './prng.ts';
import type { GraphqlWorld } from './graphql-cases.ts';

/** One graphql-ws conversation: how to connect and the frames to send. */
export interface WsCase {
  family: 'graphql-ws';
  kind: string;
  protocol: string | undefined;
  headers: Record<string, string>;
  frames: (string | Buffer)[];
  /** Bytes of the largest frame (for the report). */
  largest: number;
}

export interface WsResult {
  outcome: 'ok' | 'timeout' | 'refused';
  /** HTTP status of a refused upgrade. */
  status?: number;
  closeCode?: number;
  closeReason?: string;
  messages: string[];
  ms: number;
  error?: string;
}

const subscriptions = [
  'subscription { jobUpdated { id status } }',
  'subscription { pluginStatusChanged { id status } }',
  'subscription { gpuStats { gpus { index } } }',
  'subscription($id: ID!) { jobLog(id: $id, tail: -5) { text } }',
  '{ daemon { version } }',
  'mutation { refreshIlabModels { name } }',
];

export function wsCase(rng: Prng, w: GraphqlWorld): WsCase {
  const kind = rng.pick(['valid', 'no-init', 'bad-init', 'garbage-frames', 'wrong-types', 'duplicate-ids', 'many-subscriptions', 'oversize', 'binary', 'bad-protocol']);
  const protocol = kind === 'bad-protocol' ? rng.pick([undefined, 'graphql-ws', 'nope', 'graphql-transport-ws, graphql-ws']) : 'graphql-transport-ws';
  const headers: Record<string, string> = rng.chance(0.3) ? { authorization: `Bearer ${w.apiKey}` } : {};
  const init = JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${w.apiKey}` } });
  const subscribe = (id: unknown, query = rng.pick(subscriptions)) => JSON.stringify({ id, type: 'subscribe', payload: { query, variables: { id: rng.pick(w.jobIds.length ? w.jobIds : ['x']) } } });
  let frames: (string | Buffer)[] = [];
  switch (kind) {
    case 'valid':
    case 'bad-protocol':
      frames = [init, subscribe('1'), JSON.stringify({ type: 'ping' }), subscribe('2'), JSON.stringify({ id: '1', type: 'complete' })];
      break;
    case 'no-init':
      frames = [subscribe('1')];
      break;
    case 'bad-init':
      frames = [JSON.stringify({ type: 'connection_init', payload: rng.pick<unknown>(['str', 5, [], { authorization: 5 }, { apiKey: 'wrong-key-wrong-key' }, { authorization: `Bearer ${mixedString(rng, w)}` }]) }), init, subscribe('1')];
      break;
    case 'garbage-frames':
      frames = [init, ...Array.from({ length: rng.int(1, 5) }, () => rng.pick(['', 'not json', '{', 'null', '[]', '"x"', '{"type":"subscribe"}', mixedString(rng, w)]))];
      break;
    case 'wrong-types':
      frames = [init, JSON.stringify({ type: wrongTypedValue(rng, w), id: wrongTypedValue(rng, w), payload: wrongTypedValue(rng, w) }), JSON.stringify({ type: 'subscribe', id: '1', payload: { query: wrongTypedValue(rng, w), variables: wrongTypedValue(rng, w) } })];
      break;
    case 'duplicate-ids':
      frames = [init, subscribe('same'), subscribe('same'), JSON.stringify({ type: 'complete', id: 'unknown' }), JSON.stringify({ type: 'connection_init' })];
      break;
    case 'many-subscriptions':
      frames = [init, ...Array.from({ length: rng.pick([50, 500]) }, (_, i) => subscribe(`s${i}`))];
      break;
    case 'oversize':
      frames = [init, subscribe('big', `{ daemon { version } } # ${'x'.repeat(w.bodyLimitBytes + rng.int(1, 8192))}`)];
      break;
    case 'binary':
      frames = [Buffer.from(init), Buffer.from([0xff, 0xfe, 0x00])];
      break;
  }
  return { family: 'graphql-ws', kind, protocol, headers, frames, largest: Math.max(0, ...frames.map((f) => f.length)) };
}

/** Runs one conversation: connect, send every frame, listen for `listenMs`, close. */
export function runWsCase(port: number, c: WsCase, { timeoutMs = 5000, listenMs = 400 } = {}): Promise<WsResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const messages: string[] = [];
    let done = false;
    let opened = false;
    const socket = new WebSocket(`ws://127.0.0.1:${port}/graphql`, c.protocol === undefined ? [] : c.protocol.split(', '), { headers: c.headers, maxPayload: 64 * 1024 * 1024 });
    const finish = (result: Omit<WsResult, 'messages' | 'ms'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.terminate();
      resolve({ ...result, messages, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish({ outcome: 'timeout' }), timeoutMs);
    socket.on('unexpected-response', (_req, res) => finish({ outcome: 'refused', status: res.statusCode }));
    socket.on('error', (error) => finish({ outcome: opened ? 'ok' : 'refused', error: error.message }));
    socket.on('message', (data) => {
      if (messages.length < 2000) messages.push(data.toString().slice(0, 2000));
    });
    socket.on('close', (code, reason) => finish({ outcome: 'ok', closeCode: code, closeReason: reason.toString() }));
    socket.on('open', () => {
      opened = true;
      for (const frame of c.frames) socket.send(frame);
      setTimeout(() => finish({ outcome: 'ok' }), listenMs);
    });
  });
}
