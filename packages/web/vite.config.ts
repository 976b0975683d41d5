import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

// Two pages, plain TypeScript + DOM, bundled into dist/ (served by dispatch): the chat page
// (index.html, at `/`) and the admin dashboard (admin/index.html, at `/admin/`). The dashboard's
// own files go to dist/assets/admin/, so the chat page's assets stay alone in dist/assets/.
// Workspace packages are read from their TypeScript sources (the `source` export condition), so
// nothing else has to be built first. `pnpm --filter @switchboard/web dev` serves both pages on
// Vite's dev server and forwards `/api` and the admin API to a dispatch on 127.0.0.1:8080 (`pnpm start`).
const DISPATCH = 'http://127.0.0.1:8080';
const isAdmin = (name: string | undefined) => name === 'admin';

export default defineConfig({
  base: './',
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
    // Neither page loads chunks lazily, so there is nothing to preload; without the polyfill the
    // one chunk the pages share is the language module (src/i18n/i18n.ts, in dist/assets/).
    modulePreload: { polyfill: false },
    rolldownOptions: {
      input: {
        index: fileURLToPath(new URL('./index.html', import.meta.url)),
        admin: fileURLToPath(new URL('./admin/index.html', import.meta.url)),
      },
      output: {
        entryFileNames: (c) => (isAdmin(c.name) ? 'assets/admin/[name]-[hash].js' : 'assets/[name]-[hash].js'),
        assetFileNames: (a) => (a.names.some((n) => n.startsWith('admin')) ? 'assets/admin/[name]-[hash][extname]' : 'assets/[name]-[hash][extname]'),
      },
    },
  },
  server: { proxy: { '/api': DISPATCH, '^/admin/(nodes|stats|users)(/|$)': DISPATCH } },
});
