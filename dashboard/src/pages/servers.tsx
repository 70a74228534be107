import { Section } from '../components/common.tsx';
import { serverPanels } from '../servers/registry.tsx';

export function Servers({ plugins, canOperate }: { plugins: readonly string[]; canOperate: boolean }) {
  const shown = serverPanels.filter((s) => plugins.includes(s.plugin));
  return (
    <>
      <h1>Servers</h1>
      {shown.length === 0 ? <p class="muted">No server plugin is enabled.</p> : null}
      {shown.map(({ plugin, title, Panel }) => (
        <Section key={plugin} title={title} id={`servers-${plugin}`}>
          <Panel canOperate={canOperate} />
        </Section>
      ))}
    </>
  );
}
