import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const extDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const repoDir = path.resolve(extDir, '..', '..');

/** The codex-lsp binary to test against: $CODEX_LSP_BIN, else $CARGO_TARGET_DIR or target/, debug then release. */
export function serverBinary() {
  const target = process.env.CARGO_TARGET_DIR || path.join(repoDir, 'target');
  const candidates = [process.env.CODEX_LSP_BIN, path.join(target, 'debug', 'codex-lsp'), path.join(target, 'release', 'codex-lsp')].filter(Boolean);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`no codex-lsp binary (looked at ${candidates.join(', ')}): run \`cargo build -p codex-lsp\` or set CODEX_LSP_BIN`);
  return found;
}
