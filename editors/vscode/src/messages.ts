// What the extension recognises in the server's messages and views, and its own wording for VS Code. Pure.
import * as path from 'node:path';

/**
 * The server's missing-key message (docs/protocol.md: it starts with "Codex needs an API key"), written
 * for every editor: VS Code shows its own, with the "Set API Key" button.
 */
export function isMissingKeyMessage(message: string): boolean {
  return /^Codex needs an API key\b/.test(message);
}

/** Short enough for a toast; the button does the rest. */
export function missingKeyMessage(): string {
  return 'Codex needs an API key. Set one with "Codex: Set API Key" (kept in VS Code\'s secret storage).';
}

/**
 * An explanation view the server wrote and asks to show (docs/protocol.md:
 * `$TMPDIR/codex-lsp-explanations/<file name>-<hash>.explanation.md`): shown as a rendered preview.
 */
export function isExplanationView(scheme: string, fsPath: string): boolean {
  return scheme === 'file' && fsPath.endsWith('.explanation.md') && path.basename(path.dirname(fsPath)) === 'codex-lsp-explanations';
}
