// Bundles the extension with esbuild into dist/extension.js, and the vscode-free modules into out/ for unit tests.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const production = process.argv.includes('--production');

await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['src/extension.ts'],
  bundle: true,
  outfile: 'dist/extension.js',
  external: ['vscode'],
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
});

await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['src/messages.ts', 'src/serverPath.ts', 'src/settings.ts', 'src/status.ts'],
  bundle: false,
  outdir: 'out',
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
console.log(`built dist/extension.js${production ? ' (production)' : ''} and out/ (unit-testable modules)`);
