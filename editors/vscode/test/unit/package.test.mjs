import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { extDir } from './helpers.mjs';

const { bundledBinaryName, vsceTarget, vsixName } = await import(pathToFileURL(path.join(extDir, 'scripts', 'vsix.mjs')).href);
const pkg = { name: 'codex-lsp', version: '0.1.0' };

test('the extension-only and the bundled package have different names', () => {
  assert.equal(vsixName(pkg, undefined), 'codex-lsp-0.1.0.vsix');
  assert.equal(vsixName(pkg, 'linux-x64'), 'codex-lsp-0.1.0-linux-x64.vsix');
  assert.notEqual(vsixName(pkg, undefined), vsixName(pkg, 'linux-x64'));
});
test('VS Code target platforms', () => {
  assert.equal(vsceTarget('linux', 'x64'), 'linux-x64');
  assert.equal(vsceTarget('linux', 'arm64'), 'linux-arm64');
  assert.equal(vsceTarget('darwin', 'arm64'), 'darwin-arm64');
  assert.equal(vsceTarget('win32', 'x64'), 'win32-x64');
  assert.equal(vsceTarget('freebsd', 'x64'), undefined);
});
test('the bundled binary is named as serverPath.ts looks for it', () => {
  assert.equal(bundledBinaryName('linux-x64'), 'codex-lsp');
  assert.equal(bundledBinaryName('win32-x64'), 'codex-lsp.exe');
});
