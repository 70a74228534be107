import type { ComponentChildren } from 'preact';
import type { CombinedError } from '@urql/core';
import { formatPercent } from '../format.ts';

/** A status word with its colour class; the word itself carries the meaning, not the colour. */
export function Status({ value }: { value: string }) {
  return <span class={`status status-${value}`}>{value}</span>;
}

export function ProgressBar({ value, label }: { value: number | null | undefined; label: string }) {
  return (
    <span class="progress">
      <progress max={1} value={value ?? 0} aria-label={label} aria-valuetext={formatPercent(value)} />
      <span class="progress-text">{formatPercent(value)}</span>
    </span>
  );
}

/** A query's error in words, coded errors first (UNAVAILABLE while a backend is missing). */
export function ErrorNote({ error, what }: { error: CombinedError | undefined; what: string }) {
  if (!error) return null;
  const codes = error.graphQLErrors.map((e) => e.extensions?.code).filter(Boolean);
  const message = error.graphQLErrors[0]?.message ?? error.networkError?.message ?? error.message;
  return (
    <p class="error" role="alert">
      {what}: {message}
      {codes.length > 0 ? ` (${codes.join(', ')})` : ''}
    </p>
  );
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}
