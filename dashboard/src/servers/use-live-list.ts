import { useMemo } from 'preact/hooks';

/** A list from a query, with the newer items a subscription delivered put over it by key. */
export function useLiveList<T>(initial: readonly T[] | undefined, updates: readonly T[], key: (item: T) => string): T[] {
  return useMemo(() => {
    const byKey = new Map<string, T>();
    for (const item of initial ?? []) byKey.set(key(item), item);
    for (const item of updates) byKey.set(key(item), item);
    return [...byKey.values()].sort((a, b) => key(a).localeCompare(key(b)));
  }, [initial, updates]);
}

/** A subscription reducer keeping the latest version of each item (the newest last). */
export function keepLatest<T>(key: (item: T) => string) {
  return (previous: T[] = [], item: T): T[] => [...previous.filter((p) => key(p) !== key(item)), item];
}
