// Renderer build: Svelte 5 + Leaflet bundle into dist/renderer (served by browser mode and by Electron's app://
// protocol). Relative base so the same files work under both. No inline scripts: the page's CSP forbids them.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  plugins: [svelte()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
    // no inline data: URLs for assets (kept as files; CSP allows data: images only)
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // the plugin timing report is noise on a busy 2-core machine (and in every test run that builds)
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  worker: { format: 'es' },
  server: { fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
  logLevel: 'warn',
});
