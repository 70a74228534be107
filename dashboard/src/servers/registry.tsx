import type { ComponentType } from 'preact';
import { LlamaServers } from './llama-servers.tsx';
import { TritonServers } from './triton-servers.tsx';
import { VllmServers } from './vllm-servers.tsx';

export interface ServerPanelProps {
  canOperate: boolean;
  /** Overview: a compact list without buttons or logs. */
  compact?: boolean;
}

/**
 * The server plugins the dashboard knows, by plugin id: their panels are shown only when the
 * plugin is enabled (a disabled plugin's fields are not in the schema). A server plugin that
 * lands later adds its panel here, or ships its own page (`PluginDefinition.dashboard`).
 */
export const serverPanels: { plugin: string; title: string; Panel: ComponentType<ServerPanelProps> }[] = [
  { plugin: 'vllm-podman', title: 'vLLM servers (podman)', Panel: VllmServers },
  { plugin: 'llama-cpp', title: 'llama.cpp instances', Panel: LlamaServers },
  { plugin: 'triton', title: 'Triton Inference Servers', Panel: TritonServers },
];
