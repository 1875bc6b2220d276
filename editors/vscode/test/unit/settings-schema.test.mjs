// Every server setting and its default, as printed by `codex-lsp --print-default-settings`, must be
// contributed under `codex.*` in package.json with the same default and a description; and nothing else
// may be contributed except the documented client-only settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { extDir, serverBinary } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { CLIENT_ONLY_KEYS, serverSettings } = require(path.join(extDir, 'out', 'settings.js'));
const pkg = JSON.parse(fs.readFileSync(path.join(extDir, 'package.json'), 'utf8'));
const props = pkg.contributes.configuration.properties;

/** Flattens nested objects to dotted keys; arrays and empty objects (a map setting such as `prices`) are values. */
function flatten(obj, prefix = '') {
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) Object.assign(out, flatten(v, key));
    else out[key] = v;
  }
  return out;
}

const defaults = flatten(JSON.parse(execFileSync(serverBinary(), ['--print-default-settings'], { encoding: 'utf8' })));

test('the server prints a non-trivial default settings object', () => {
  assert.ok(Object.keys(defaults).length >= 20, `only ${Object.keys(defaults).length} settings`);
});

for (const [key, value] of Object.entries(defaults)) {
  test(`codex.${key} is contributed with the server default`, () => {
    const prop = props[`codex.${key}`];
    assert.ok(prop, `package.json lacks codex.${key}`);
    assert.deepEqual(prop.default, value, `default of codex.${key}`);
    assert.ok((prop.description || prop.markdownDescription || '').length > 10, `codex.${key} needs a description`);
    const type = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
    assert.ok(prop.type === type || (type === 'integer' && prop.type === 'number'), `type of codex.${key}: ${prop.type} vs ${type}`);
    if (prop.enum) assert.ok(prop.enum.includes(value), `enum of codex.${key} lacks its default`);
  });
}

test('no contributed setting is unknown to the server, except the client-only ones', () => {
  const extra = Object.keys(props)
    .map((k) => k.replace(/^codex\./, ''))
    .filter((k) => !(k in defaults) && !CLIENT_ONLY_KEYS.some((c) => k === c || k.startsWith(`${c}.`)));
  assert.deepEqual(extra, []);
});

test('the settings object sent to the server drops client-only keys and is accepted as a whole', () => {
  // Build what VS Code's getConfiguration('codex') would hold with every default, nested by dots.
  const nested = {};
  for (const [k, p] of Object.entries(props)) {
    const parts = k.replace(/^codex\./, '').split('.');
    let o = nested;
    for (const part of parts.slice(0, -1)) o = o[part] ??= {};
    o[parts.at(-1)] = p.default;
  }
  const sent = serverSettings(nested);
  for (const c of CLIENT_ONLY_KEYS) assert.ok(!(c in sent), `${c} must not be sent`);
  assert.deepEqual(flatten(sent), defaults);
});
