// Finding the codex-lsp binary. Pure (no `vscode` import) so it is unit-tested with node's test runner.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SERVER_PATH_SETTING = 'codex.server.path';

export type ServerLocation =
  | { ok: true; path: string; source: 'setting' | 'bundled' | 'PATH' }
  | { ok: false; message: string };

function isExecutable(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return false;
    if (process.platform === 'win32') return true;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function binaryName(platform: NodeJS.Platform): string {
  return platform === 'win32' ? 'codex-lsp.exe' : 'codex-lsp';
}

/** Looks for `codex-lsp` on a PATH string. */
export function findOnPath(envPath: string | undefined, platform: NodeJS.Platform = process.platform): string | undefined {
  if (!envPath) return undefined;
  const name = binaryName(platform);
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * `codex.server.path` if set (it must exist), else `<extension>/server/codex-lsp`,
 * else `codex-lsp` on PATH. Nothing found: a message naming the setting.
 */
export function locateServer(opts: {
  configuredPath: string | undefined;
  extensionPath: string;
  envPath: string | undefined;
  workspaceFolder?: string | undefined;
  platform?: NodeJS.Platform;
}): ServerLocation {
  const platform = opts.platform ?? process.platform;
  const configured = (opts.configuredPath ?? '').trim();
  if (configured) {
    let p = configured;
    if (p.startsWith('~/') && process.env.HOME) p = path.join(process.env.HOME, p.slice(2));
    if (!path.isAbsolute(p) && opts.workspaceFolder) p = path.join(opts.workspaceFolder, p);
    if (isExecutable(p)) return { ok: true, path: p, source: 'setting' };
    return {
      ok: false,
      message: `Codex: the server binary set in "${SERVER_PATH_SETTING}" (${configured}) does not exist or is not executable.`,
    };
  }
  const bundled = path.join(opts.extensionPath, 'server', binaryName(platform));
  if (isExecutable(bundled)) return { ok: true, path: bundled, source: 'bundled' };
  const onPath = findOnPath(opts.envPath, platform);
  if (onPath) return { ok: true, path: onPath, source: 'PATH' };
  return {
    ok: false,
    message: `Codex: cannot find the codex-lsp server. Set "${SERVER_PATH_SETTING}" to the binary, or put codex-lsp on your PATH.`,
  };
}
