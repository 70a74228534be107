/**
 * The `cli` modules of the built-in plugins, by plugin id: the same URLs their manifests name
 * (test/cli-client-plugins.test.ts checks), kept here so the client reads them without
 * importing plugins/index.ts, which would load every plugin's init and schema code.
 */
export const builtinCliModules: ReadonlyMap<string, URL> = new Map([
  ['ilab', new URL('../plugins/ilab/cli.ts', import.meta.url)],
  ['vllm-podman', new URL('../plugins/vllm-podman/cli.ts', import.meta.url)],
  ['llama-cpp', new URL('../plugins/llama-cpp/cli.ts', import.meta.url)],
  ['triton', new URL('../plugins/triton/cli.ts', import.meta.url)],
  ['tinker', new URL('../plugins/tinker/cli.ts', import.meta.url)],
]);
