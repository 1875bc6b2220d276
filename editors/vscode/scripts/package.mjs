// Builds a .vsix with @vscode/vsce, in one of two kinds, named apart:
//   bundled         codex-lsp-<version>-<target>.vsix (e.g. -linux-x64): the codex-lsp binary, stripped, as
//                   server/codex-lsp, for that platform only (vsce --target). The binary is $CODEX_LSP_BIN,
//                   else target/release/codex-lsp, else target/debug/codex-lsp.
//   extension only  codex-lsp-<version>.vsix: no binary, any platform; the server comes from codex.server.path
//                   or PATH. Built with --no-server (or CODEX_LSP_BIN=none), or when no binary is found.
// Env: VSIX_OUT names the output file instead; VSCE_TARGET overrides the target (a binary built for another
// platform); STRIP names the strip tool (default `strip`; STRIP=none keeps the binary as it is).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledBinaryName, vsceTarget, vsixName } from './vsix.mjs';

const ext = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const repo = path.resolve(ext, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(repo, 'target');
const noServer = process.argv.includes('--no-server') || process.env.CODEX_LSP_BIN === 'none';
const candidates = noServer ? [] : [process.env.CODEX_LSP_BIN, path.join(targetDir, 'release', 'codex-lsp'), path.join(targetDir, 'debug', 'codex-lsp')].filter(Boolean);
const bin = candidates.find((p) => fs.existsSync(p));
if (process.env.CODEX_LSP_BIN && !noServer && bin !== process.env.CODEX_LSP_BIN) throw new Error(`CODEX_LSP_BIN=${process.env.CODEX_LSP_BIN} does not exist`);
const target = bin ? process.env.VSCE_TARGET || vsceTarget(process.platform, process.arch) : undefined;
if (bin && !target) throw new Error(`no VS Code target platform for ${process.platform}-${process.arch}: set VSCE_TARGET`);

const serverDir = path.join(ext, 'server');
fs.rmSync(serverDir, { recursive: true, force: true });
fs.mkdirSync(serverDir, { recursive: true });
if (bin) {
  const dest = path.join(serverDir, bundledBinaryName(target));
  fs.copyFileSync(bin, dest);
  fs.chmodSync(dest, 0o755);
  const before = fs.statSync(dest).size;
  const strip = process.env.STRIP || 'strip';
  if (strip !== 'none') {
    try {
      execFileSync(strip, [dest], { stdio: 'inherit' }); // the copy only; target/ is left alone
    } catch (e) {
      throw new Error(`cannot strip the bundled binary with ${strip} (${e.message}); install binutils or set STRIP (STRIP=none to keep it)`);
    }
  }
  const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
  console.log(`bundling server binary ${bin} for ${target} (${strip === 'none' ? 'not stripped' : `stripped ${mb(before)} → ${mb(fs.statSync(dest).size)}`})`);
} else {
  console.log(noServer
    ? 'extension only (--no-server): the package will use codex.server.path or PATH'
    : 'no codex-lsp binary found (build it with cargo, or set CODEX_LSP_BIN): packaging the extension only, which uses codex.server.path or PATH');
}
execFileSync(process.execPath, [path.join(ext, 'scripts', 'build.mjs'), '--production'], { stdio: 'inherit' });
const pkg = JSON.parse(fs.readFileSync(path.join(ext, 'package.json'), 'utf8'));
const out = process.env.VSIX_OUT ? path.resolve(process.env.INIT_CWD || process.cwd(), process.env.VSIX_OUT) : path.join(ext, vsixName(pkg, target));
const vsce = require_resolve('@vscode/vsce/vsce');
const targetArgs = target ? ['--target', target] : [];
execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--skip-license', '--allow-missing-repository', ...targetArgs, '-o', out], { cwd: ext, stdio: 'inherit' });
fs.rmSync(serverDir, { recursive: true, force: true });
console.log(`packaged ${out}${target ? ` (bundled server, ${target})` : ' (extension only)'}`);

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
