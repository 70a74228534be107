import { elementScroll, observeElementOffset, observeElementRect, Virtualizer } from '@tanstack/virtual-core';
import { useClient } from '@urql/preact';
import { useEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks';
import { DashboardJobLogDocument, DashboardJobLogWindowDocument } from '../../../schema/generated/graphql.ts';
import { displayLine } from '../format.ts';
import { LogBuffer } from '../log-buffer.ts';

const rowHeight = 18;
const firstWindow = 500;
const pageLines = 2000;
/** Lines held while following at the bottom; reading higher up holds up to `readingCap`. */
const followCap = 20_000;
const readingCap = 200_000;

/**
 * A job log, virtualised (only the rows in view are in the DOM): the last lines, then live lines
 * from exactly where they ended (`jobLog(from:)`), and earlier lines on request. Lines that
 * arrive are applied once per animation frame, however fast the job writes.
 */
export function LogView({ jobId, label }: { jobId: string; label: string }) {
  const client = useClient();
  const buffer = useMemo(() => new LogBuffer(followCap), [jobId]);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const [follow, setFollow] = useState(true);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [live, setLive] = useState(false);
  const scroller = useRef<HTMLDivElement>(null);
  const followRef = useRef(follow);
  followRef.current = follow;

  const virtualizer = useMemo(
    () =>
      new Virtualizer<HTMLDivElement, HTMLDivElement>({
        count: 0,
        getScrollElement: () => scroller.current,
        estimateSize: () => rowHeight,
        overscan: 20,
        scrollToFn: elementScroll,
        observeElementRect,
        observeElementOffset,
        onChange: () => rerender(0),
      }),
    [jobId],
  );
  useEffect(() => virtualizer._didMount(), [virtualizer]);
  useEffect(() => virtualizer._willUpdate());

  useEffect(() => {
    let pending: string[] = [];
    let frame = 0;
    let stopped = false;
    let unsubscribe: (() => void) | undefined;
    const flush = () => {
      frame = 0;
      const element = scroller.current;
      const dropped = buffer.append(pending, followRef.current ? followCap : readingCap);
      pending = [];
      // Dropped rows above the view: keep what the reader looks at in place.
      if (dropped > 0 && element && !followRef.current) element.scrollTop = Math.max(0, element.scrollTop - dropped * rowHeight);
      rerender(0);
    };
    setError(undefined);
    client
      .query(DashboardJobLogWindowDocument, { id: jobId, last: firstWindow }, { requestPolicy: 'network-only' })
      .toPromise()
      .then((result) => {
        if (stopped) return;
        const window = result.data?.job?.logLines;
        if (!window) {
          setError(result.error?.graphQLErrors[0]?.message ?? result.error?.message ?? 'no log');
          return;
        }
        buffer.reset(window.lines, window.start);
        rerender(0);
        setLive(true);
        const subscription = client.subscription(DashboardJobLogDocument, { id: jobId, from: window.end }).subscribe((event) => {
          if (event.error) setError(event.error.message);
          const lines = event.data?.jobLog.lines;
          if (!lines || lines.length === 0) return;
          for (const line of lines) pending.push(line);
          frame ||= requestAnimationFrame(flush);
        });
        unsubscribe = () => subscription.unsubscribe();
      });
    return () => {
      stopped = true;
      unsubscribe?.();
      if (frame) cancelAnimationFrame(frame);
      setLive(false);
    };
  }, [jobId]);

  const count = buffer.lines.length;
  virtualizer.setOptions({ ...virtualizer.options, count });
  useEffect(() => {
    if (follow && count > 0) virtualizer.scrollToIndex(count - 1, { align: 'end' });
  }, [follow, buffer.version]);

  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    const atBottom = element.scrollTop + element.clientHeight >= element.scrollHeight - rowHeight * 2;
    if (!atBottom && followRef.current) setFollow(false);
  };

  const loadEarlier = async () => {
    if (buffer.atBeginning || loading) return;
    setLoading(true);
    const result = await client.query(DashboardJobLogWindowDocument, { id: jobId, last: pageLines, before: buffer.start }, { requestPolicy: 'network-only' }).toPromise();
    setLoading(false);
    const window = result.data?.job?.logLines;
    if (!window) return setError(result.error?.message ?? 'no log');
    setFollow(false);
    const element = scroller.current;
    const top = element?.scrollTop ?? 0;
    buffer.prepend(window.lines, window.start);
    rerender(0);
    // Keep the first line that was in view where it was.
    requestAnimationFrame(() => element && (element.scrollTop = top + window.lines.length * rowHeight));
  };

  const items = virtualizer.getVirtualItems();
  return (
    <div class="log">
      <div class="log-toolbar" role="toolbar" aria-label={`${label} controls`}>
        <button type="button" onClick={loadEarlier} disabled={buffer.atBeginning || loading}>
          {loading ? 'Loading…' : buffer.atBeginning ? 'Beginning of log' : `Load ${pageLines} earlier lines`}
        </button>
        <button type="button" aria-pressed={follow} onClick={() => setFollow(!follow)}>
          {follow ? 'Following' : 'Follow'}
        </button>
        <span class="muted" aria-live="polite">
          {count.toLocaleString()} lines held{live ? ', live' : ''}
        </span>
      </div>
      {error ? <p class="error" role="alert">Log: {error}</p> : null}
      <div ref={scroller} class="log-scroll" tabIndex={0} role="log" aria-label={label} aria-live="off" onScroll={onScroll}>
        <div class="log-inner" style={{ height: `${virtualizer.getTotalSize()}px` }}>
          {items.map((item) => (
            <div key={item.key} class="log-line" data-index={item.index} style={{ transform: `translateY(${item.start}px)` }}>
              {displayLine(buffer.lines[item.index] ?? '')}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
