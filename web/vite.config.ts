// The pages (checkout, receipt, docs): content-hashed files under /static/, served by the
// gateway (src/sbtc_gateway/api/static.py). The wallet code is its own chunk, loaded on "Pay".
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/static/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 2048,
    rollupOptions: {
      input: { checkout: 'checkout.html', receipt: 'receipt.html', docs: 'docs.html' },
    },
  },
});
