/**
 * The web console's build (docs/decisions.md, "Web console"): Preact with TSX through Vite's own
 * transform (Oxc) on Preact's automatic JSX runtime, built into console/dist for the local server's
 * `GET /console`. Asset URLs start with `/console/`, where the server answers them.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Everything ships inside the package: no CDN, no inlined fonts fetched at run time.
    assetsInlineLimit: 0,
    target: 'es2022',
  },
});
