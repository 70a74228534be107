import { useEffect, useRef, useState } from 'preact/hooks';
import { rawGraphql } from '../client.ts';

export interface PluginPageEntry {
  id: string;
  title: string;
  url: string;
}

/** What a plugin's module gets (see `PluginDefinition.dashboard` in the plugin contract). */
export interface PluginPageContext {
  pluginId: string;
  scopes: readonly string[];
  graphql(query: string, variables?: Record<string, unknown>): Promise<{ data?: unknown; errors?: unknown[] }>;
}

type Mount = (element: HTMLElement, context: PluginPageContext) => void | (() => void);

/** A plugin's own page: its ES module, loaded from the daemon, mounted into a container. */
export function PluginPage({ page, apiKey, scopes }: { page: PluginPageEntry; apiKey: string | undefined; scopes: readonly string[] }) {
  const box = useRef<HTMLDivElement>(null);
  const [problem, setProblem] = useState<string | undefined>();
  useEffect(() => {
    let cleanup: void | (() => void);
    let gone = false;
    setProblem(undefined);
    import(/* @vite-ignore */ page.url)
      .then((module: { default?: Mount }) => {
        if (gone) return;
        if (typeof module.default !== 'function') throw new Error('the module has no default mount(element, context) function');
        cleanup = module.default(box.current!, { pluginId: page.id, scopes, graphql: (query, variables) => rawGraphql(apiKey, query, variables) });
      })
      .catch((error: Error) => setProblem(`The page of plugin ${page.id} failed to load: ${error.message}`));
    return () => {
      gone = true;
      if (typeof cleanup === 'function') cleanup();
      box.current?.replaceChildren();
    };
  }, [page.url, apiKey]);
  return (
    <>
      <h1>{page.title}</h1>
      {problem ? <p class="error" role="alert">{problem}</p> : null}
      <div ref={box} class="plugin-page" />
    </>
  );
}
