// The embeddable widget: one classic script (IIFE) that merchants load from the gateway as
// /v1/widget.js; it knows the gateway from its own URL. Built after the pages (same dist/).
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist/widget',
    emptyOutDir: false,
    sourcemap: false,
    lib: {
      entry: 'src/widget/widget.ts',
      name: 'SbtcPay',
      formats: ['iife'],
      fileName: () => 'widget.js',
    },
  },
});
