import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { extDir } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { locateServer } = require(path.join(extDir, 'out', 'serverPath.js'));

function fakeBin(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const p = path.join(dir, 'codex-lsp');
  fs.writeFileSync(p, '#!/bin/sh\n');
  fs.chmodSync(p, 0o755);
  return p;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'codex-path-'));
const settingBin = fakeBin(path.join(tmp, 'setting'));
const ext = path.join(tmp, 'ext');
const bundled = fakeBin(path.join(ext, 'server'));
const pathBin = fakeBin(path.join(tmp, 'onpath'));
const emptyExt = path.join(tmp, 'empty-ext');
fs.mkdirSync(emptyExt);

test('the setting wins', () => {
  assert.deepEqual(locateServer({ configuredPath: settingBin, extensionPath: ext, envPath: path.dirname(pathBin) }), { ok: true, path: settingBin, source: 'setting' });
});
test('a relative setting is taken from the workspace folder', () => {
  assert.equal(locateServer({ configuredPath: 'setting/codex-lsp', extensionPath: ext, envPath: '', workspaceFolder: tmp }).path, settingBin);
});
test('a setting naming a missing file is an error naming the setting', () => {
  const r = locateServer({ configuredPath: path.join(tmp, 'nope'), extensionPath: ext, envPath: path.dirname(pathBin) });
  assert.equal(r.ok, false);
  assert.match(r.message, /codex\.server\.path/);
});
test('then the bundled binary', () => {
  assert.deepEqual(locateServer({ configuredPath: '', extensionPath: ext, envPath: path.dirname(pathBin) }), { ok: true, path: bundled, source: 'bundled' });
});
test('then PATH', () => {
  assert.deepEqual(locateServer({ configuredPath: undefined, extensionPath: emptyExt, envPath: `/nonexistent${path.delimiter}${path.dirname(pathBin)}` }), { ok: true, path: pathBin, source: 'PATH' });
});
test('a non-executable file on PATH is skipped', () => {
  const d = path.join(tmp, 'noexec');
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'codex-lsp'), '');
  assert.equal(locateServer({ configuredPath: '', extensionPath: emptyExt, envPath: d }).ok, false);
});
test('nothing found: an error naming the setting', () => {
  const r = locateServer({ configuredPath: '', extensionPath: emptyExt, envPath: '/nonexistent' });
  assert.equal(r.ok, false);
  assert.match(r.message, /codex\.server\.path/);
});
