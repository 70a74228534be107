import { definePlugin, type EndpointRegistry, z } from '../../core/plugin-api.ts';

/** The registry the endpoint test plugin got, for tests to publish and withdraw through. */
export const testEndpoints: { registry?: EndpointRegistry } = {};

/** Publishes the model endpoints of its config (`plugins.endpoint-test.endpoints`), as a serving plugin would. */
export const endpointTestPlugin = definePlugin({
  id: 'endpoint-test',
  version: '1.0.0',
  configSchema: z.object({
    endpoints: z.array(z.object({ id: z.string(), protocol: z.enum(['kserve-v2', 'openai']), server: z.string(), model: z.string(), baseUrl: z.string(), ready: z.boolean().default(true) })).default([]),
  }),
  init({ config, endpoints }) {
    testEndpoints.registry = endpoints;
    for (const endpoint of config.endpoints) endpoints.publish(endpoint);
  },
});
export default endpointTestPlugin;
