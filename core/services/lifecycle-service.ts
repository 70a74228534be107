export type { ShutdownHook, LifecycleService, PluginStatusService, PluginStatus } from '../../packages/plugin-api/src/services/lifecycle.ts';
