import { defaultClientConditions, defineConfig } from 'vite';

// The chat page: plain TypeScript + DOM, bundled into dist/ (served by dispatch at `/`).
// Workspace packages are read from their TypeScript sources (the `source` export condition), so
// nothing else has to be built first. `pnpm --filter @switchboard/web dev` serves it on Vite's
// dev server and forwards `/api` to a dispatch on 127.0.0.1:8080 (`pnpm start`).
export default defineConfig({
  base: './',
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true, reportCompressedSize: false },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
