import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The client address of the HTTP request being served, for checks deep in a resolver that
 * count per address (failed logins) without every layer passing it along.
 */
export const requestAddress = new AsyncLocalStorage<string>();
