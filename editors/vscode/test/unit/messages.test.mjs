import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { extDir, repoDir } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { isMissingKeyMessage, missingKeyMessage, isExplanationView } = require(path.join(extDir, 'out', 'messages.js'));

test('the server\'s missing-key message is recognised, and only it', () => {
  assert.ok(isMissingKeyMessage('Codex needs an API key: set the environment variable OPENAI_API_KEY where your editor starts the language server (in VS Code, run "Codex: Set API Key"); see the README.'));
  assert.ok(!isMissingKeyMessage('The model server rejected the API key (HTTP 401): bad key'));
  assert.ok(!isMissingKeyMessage('Codex: the document changed; run the action again.'));
});
test('the server still words the missing-key message as the extension expects (server/src/model/error.rs)', () => {
  const src = require('node:fs').readFileSync(path.join(repoDir, 'server', 'src', 'model', 'error.rs'), 'utf8');
  const m = /Self::MissingApiKey \{ env_var \} => format!\(\s*"([^"\\]*)/.exec(src);
  assert.ok(m, 'found the MissingApiKey message in error.rs');
  assert.ok(isMissingKeyMessage(m[1]), `recognised: ${m[1]}`);
});
test('VS Code\'s missing-key message is short and names the command, not an environment variable', () => {
  const m = missingKeyMessage();
  assert.match(m, /Codex: Set API Key/);
  assert.doesNotMatch(m, /environment variable/);
  assert.ok(m.length < 120);
});
test('explanation views are the server\'s files in codex-lsp-explanations', () => {
  assert.ok(isExplanationView('file', '/tmp/codex-lsp-explanations/explain.py-1a2b.explanation.md'));
  assert.ok(!isExplanationView('file', '/home/me/notes.explanation.md'));
  assert.ok(!isExplanationView('untitled', '/tmp/codex-lsp-explanations/x.explanation.md'));
  assert.ok(!isExplanationView('file', '/tmp/codex-lsp-explanations/x.md'));
});
