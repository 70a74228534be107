/** The API key the user typed, for this tab only (sessionStorage: gone when the tab closes). */
const storageKey = 'backplane.dashboard.apiKey';

export function readKey(): string | undefined {
  try {
    return sessionStorage.getItem(storageKey) ?? undefined;
  } catch {
    return undefined;
  }
}

export function saveKey(key: string | undefined): void {
  try {
    if (key) sessionStorage.setItem(storageKey, key);
    else sessionStorage.removeItem(storageKey);
  } catch {
    // Storage disabled: the key lives as long as the page.
  }
}

/** Whether the caller may run mutations: `operate` and `admin` include them. */
export function canOperate(scopes: readonly string[]): boolean {
  return scopes.includes('operate') || scopes.includes('admin');
}
