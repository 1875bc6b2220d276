// Builds a .vsix with @vscode/vsce. The codex-lsp binary is bundled as server/codex-lsp when
// CODEX_LSP_BIN names one, or when target/release (else target/debug) holds one; otherwise the
// package relies on codex.server.path or PATH, and says so.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ext = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const repo = path.resolve(ext, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(repo, 'target');
const candidates = [process.env.CODEX_LSP_BIN, path.join(targetDir, 'release', 'codex-lsp'), path.join(targetDir, 'debug', 'codex-lsp')].filter(Boolean);
const bin = candidates.find((p) => fs.existsSync(p));
const serverDir = path.join(ext, 'server');
fs.rmSync(serverDir, { recursive: true, force: true });
fs.mkdirSync(serverDir, { recursive: true });
if (bin) {
  fs.copyFileSync(bin, path.join(serverDir, 'codex-lsp'));
  fs.chmodSync(path.join(serverDir, 'codex-lsp'), 0o755);
  console.log(`bundling server binary ${bin}`);
} else {
  console.log('no codex-lsp binary found (build it with cargo, or set CODEX_LSP_BIN): the package will use codex.server.path or PATH');
}
execFileSync(process.execPath, [path.join(ext, 'scripts', 'build.mjs'), '--production'], { stdio: 'inherit' });
const pkg = JSON.parse(fs.readFileSync(path.join(ext, 'package.json'), 'utf8'));
const out = process.env.VSIX_OUT ? path.resolve(process.env.INIT_CWD || process.cwd(), process.env.VSIX_OUT) : path.join(ext, `${pkg.name}-${pkg.version}.vsix`);
const vsce = require_resolve('@vscode/vsce/vsce');
execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '-o', out], { cwd: ext, stdio: 'inherit' });
console.log(`packaged ${out}`);

function require_resolve(id) {
  let dir = ext;
  for (;;) {
    const p = path.join(dir, 'node_modules', id);
    if (fs.existsSync(p)) return p;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find ${id}; run npm ci at the repository root`);
    dir = up;
  }
}
