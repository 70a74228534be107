import type { FuzzCase } from './fuzz-case.ts';
import type { RawResponse } from './raw-http.ts';
import type { WsCase, WsResult } from './ws-cases.ts';

/** Bytes as readable text: printable ASCII as is, everything else as `\xNN`, long runs shortened. */
export function escapeBytes(value: string | Buffer, max = 300): string {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
  let out = '';
  for (const byte of bytes.subarray(0, max)) out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  out = out.replace(/(.{1,8}?)\1{15,}/g, (run, unit: string) => `${unit}…(×${run.length / unit.length})`);
  return bytes.length > max ? `${out}… (${bytes.length} bytes)` : out;
}

/** A request as a reader can replay it (the API key shown as $KEY). */
export function describeCase(c: FuzzCase, apiKey: string): string {
  const hide = (v: string | Buffer) => escapeBytes(Buffer.isBuffer(v) ? v : v.replaceAll(apiKey, '$KEY'), 200);
  const lines = [`${escapeBytes(c.request.method)} ${escapeBytes(c.request.target, 400)} HTTP/${c.request.httpVersion ?? '1.1'}`];
  for (const [name, value] of c.request.headers) lines.push(`${name}: ${hide(value)}`);
  if (c.request.chunked) lines.push('Transfer-Encoding: chunked');
  if (c.request.body && c.request.body.length > 0) lines.push('', escapeBytes(c.request.body, 400));
  return lines.join('\n      ');
}

export function describeResponse(r: RawResponse): string {
  return `${r.outcome} HTTP ${r.status} in ${Math.round(r.ms)} ms, content-type ${r.headers['content-type'] ?? 'none'}: ${escapeBytes(r.body, 300)}`;
}

export function describeWsCase(c: WsCase, apiKey: string): string {
  return [`ws://…/graphql protocol=${c.protocol ?? 'none'} headers=${JSON.stringify(c.headers).replaceAll(apiKey, '$KEY')}`, ...c.frames.map((f) => `frame: ${escapeBytes(Buffer.isBuffer(f) ? f : f.replaceAll(apiKey, '$KEY'), 200)}`)].join('\n      ');
}

export function describeWsResult(r: WsResult): string {
  return `${r.outcome}${r.status ? ` HTTP ${r.status}` : ''} close=${r.closeCode ?? 'none'} ${r.closeReason ?? ''} messages=${r.messages.length}${r.messages[0] ? `: ${escapeBytes(r.messages[0], 200)}` : ''}`;
}
