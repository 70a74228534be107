import { definePlugin } from '../../core/plugin-api.ts';

/** A plugin that contributes a dashboard page (test/fixtures/dashboard-plugin/probe-page.js). */
export const dashboardTestPlugin = definePlugin({
  id: 'dashboard-probe',
  version: '1.0.0',
  dashboard: { title: 'Probe page', module: new URL('../fixtures/dashboard-plugin/probe-page.js', import.meta.url) },
  schema(builder) {
    builder.queryField('dashboardProbe', (t) => t.string({ resolve: () => 'probe ok' }));
  },
});

export default dashboardTestPlugin;
