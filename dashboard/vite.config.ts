import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The dashboard's build. Relative base, so the page works under any `dashboard.path`; assets
 * in `dashboard-assets/` with content hashes (served immutable by core/http/dashboard-route.ts);
 * no module-preload polyfill, which would be an inline script the page's CSP refuses. Preact's
 * JSX through Vite's own oxc transform (no preset needed).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  clearScreen: false,
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { alias: [{ find: /^react(-dom)?$/, replacement: 'preact/compat' }] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'dashboard-assets',
    target: 'es2022',
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 400,
  },
});
