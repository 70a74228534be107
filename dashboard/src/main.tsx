import { Provider, useQuery, useSubscription } from '@urql/preact';
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { DashboardHomeDocument, DashboardPluginStatusDocument, type DashboardPluginFragment } from '../../schema/generated/graphql.ts';
import { canOperate, readKey, saveKey } from './auth.ts';
import { createDashboardClient } from './client.ts';
import { ErrorNote } from './components/common.tsx';
import { JobPage } from './pages/job.tsx';
import { Jobs } from './pages/jobs.tsx';
import { Overview } from './pages/overview.tsx';
import { PluginPage, type PluginPageEntry } from './pages/plugin-page.tsx';
import { Servers } from './pages/servers.tsx';
import { Training } from './pages/training.tsx';
import { useRoute, type Route } from './router.ts';
import './styles.css';

function App() {
  const [apiKey, setApiKey] = useState(readKey);
  const session = useMemo(() => createDashboardClient(apiKey), [apiKey]);
  useEffect(() => () => session.dispose(), [session]);
  const useKey = (key: string | undefined) => {
    saveKey(key);
    setApiKey(key);
  };
  return (
    <Provider value={session.client}>
      <Shell apiKey={apiKey} onKey={useKey} />
    </Provider>
  );
}

function Shell({ apiKey, onKey }: { apiKey: string | undefined; onKey(key: string | undefined): void }) {
  const route = useRoute();
  const [{ data, error, fetching }] = useQuery({ query: DashboardHomeDocument });
  const [statusUpdates] = useSubscription({ query: DashboardPluginStatusDocument, pause: !data }, (previous: Map<string, DashboardPluginFragment> | undefined, event) =>
    new Map(previous).set(event.pluginStatusChanged.id, event.pluginStatusChanged),
  );
  const [pages, setPages] = useState<PluginPageEntry[]>([]);
  useEffect(() => {
    fetch(new URL('/dashboard-plugins/', location.href))
      .then((r) => (r.ok ? r.json() : { pages: [] }))
      .then((body: { pages: PluginPageEntry[] }) => setPages(body.pages))
      .catch(() => setPages([]));
  }, []);

  const unauthenticated = error?.response?.status === 401 || error?.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
  if (unauthenticated) return <KeyForm rejected={apiKey !== undefined} onKey={onKey} />;
  if (!data) {
    return (
      <main id="main" class="main">
        {fetching ? <p aria-live="polite">Loading…</p> : null}
        <ErrorNote error={error} what="The daemon did not answer" />
      </main>
    );
  }
  const plugins = data.plugins.map((p) => statusUpdates.data?.get(p.id) ?? p);
  const scopes = data.viewer.scopes;
  const operate = canOperate(scopes);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          backplane
        </a>
        <nav aria-label="Pages">
          <NavLink href="#/" current={route.page === 'overview'}>
            Overview
          </NavLink>
          <NavLink href="#/jobs" current={route.page === 'jobs' || route.page === 'job'}>
            Jobs
          </NavLink>
          <NavLink href="#/servers" current={route.page === 'servers'}>
            Servers
          </NavLink>
          {plugins.some((p) => p.id === 'tinker') ? (
            <NavLink href="#/training" current={route.page === 'training'}>
              Training
            </NavLink>
          ) : null}
          {pages.map((p) => (
            <NavLink key={p.id} href={`#/plugins/${encodeURIComponent(p.id)}`} current={route.page === 'plugin' && route.id === p.id}>
              {p.title}
            </NavLink>
          ))}
        </nav>
        <p class="who">
          <span>
            {data.viewer.principal} <span class="muted">({operate ? scopes.join(', ') : 'read only'})</span>
          </span>
          {apiKey ? (
            <button type="button" onClick={() => onKey(undefined)}>
              Forget key
            </button>
          ) : null}
        </p>
      </header>
      <main id="main" class="main" tabIndex={-1}>
        <Page route={route} plugins={plugins} operate={operate} pages={pages} apiKey={apiKey} scopes={scopes} />
      </main>
      <footer class="foot muted small">backplane {data.daemon.version}</footer>
    </>
  );
}

function Page({ route, plugins, operate, pages, apiKey, scopes }: { route: Route; plugins: DashboardPluginFragment[]; operate: boolean; pages: PluginPageEntry[]; apiKey: string | undefined; scopes: readonly string[] }) {
  const ids = plugins.map((p) => p.id);
  switch (route.page) {
    case 'jobs':
      return <Jobs query={route.query} plugins={ids} />;
    case 'job':
      return <JobPage key={route.id} id={route.id} canOperate={operate} />;
    case 'servers':
      return <Servers plugins={ids} canOperate={operate} />;
    case 'training':
      return <Training plugins={ids} />;
    case 'plugin': {
      const page = pages.find((p) => p.id === route.id);
      return page ? <PluginPage page={page} apiKey={apiKey} scopes={scopes} /> : <p>No page for plugin {route.id}.</p>;
    }
    default:
      return <Overview plugins={plugins} canOperate={operate} />;
  }
}

function NavLink({ href, current, children }: { href: string; current: boolean; children: preact.ComponentChildren }) {
  return (
    <a href={href} aria-current={current ? 'page' : undefined}>
      {children}
    </a>
  );
}

function KeyForm({ rejected, onKey }: { rejected: boolean; onKey(key: string): void }) {
  const [value, setValue] = useState('');
  return (
    <main id="main" class="main narrow">
      <h1>backplane</h1>
      <form
        class="card key-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (value.trim()) onKey(value.trim());
        }}
      >
        <h2>API key</h2>
        <p>This daemon requires an API key (or a user's access token). It is kept in this tab only (session storage) and sent with every request.</p>
        {rejected ? (
          <p class="error" role="alert">
            The daemon refused that key.
          </p>
        ) : null}
        <label for="api-key">Key</label>
        <input id="api-key" type="password" autocomplete="off" required value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        <button type="submit">Use key</button>
      </form>
    </main>
  );
}

render(<App />, document.getElementById('app')!);
