// Builds the upload page into bankgate/push/page/ (shipped with the package: no CDN, no npm at run time).
import { build } from 'esbuild'

const out = new URL('../../bankgate/push/page/', import.meta.url).pathname
await build({
  entryPoints: { app: 'src/main.js', style: 'src/style.css' },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome110', 'firefox115', 'safari16'],
  outdir: out,
  legalComments: 'linked',
  logLevel: 'info',
})
