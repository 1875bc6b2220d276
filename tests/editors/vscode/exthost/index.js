// Integration tests that run INSIDE the real VS Code extension host of code-server, on the real
// `vscode` API, against the real codex-lsp binary (and, for the model suite, the fake Responses server).
// The harness passes its configuration through environment variables of the code-server process:
//   CODEX_TEST_CONFIG   JSON file: { suites: ["basic","model"], results, workspace, fakeUrl, defaults, expected, userSettings, filter }
// `filter` (a regular expression, or null) keeps only the tests whose full name matches; the others are skipped.
'use strict';
const vscode = require('vscode');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const EXT_ID = 'codex-lsp.codex-lsp';
const cfg = JSON.parse(fs.readFileSync(process.env.CODEX_TEST_CONFIG, 'utf8'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs = 20000) {
  const t0 = Date.now();
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await sleep(100);
  }
}

let api;
async function codex() {
  const ext = vscode.extensions.getExtension(EXT_ID);
  assert.ok(ext, `extension ${EXT_ID} is installed`);
  api = await ext.activate();
  await api.ready();
  return api;
}
const RUNNING = 2; // vscode-languageclient State.Running

function uriOf(rel) {
  return vscode.Uri.file(path.join(cfg.workspace, rel));
}
async function open(rel) {
  const doc = await vscode.workspace.openTextDocument(uriOf(rel));
  const editor = await vscode.window.showTextDocument(doc);
  return { doc, editor };
}
/** The Codex output channel as VS Code writes it to disk (under the user data directory's logs). */
function codexLogFile() {
  const logs = path.join(path.dirname(path.dirname(cfg.userSettings)), 'logs');
  const hits = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/Codex\.log$/.test(e.name) && fs.readFileSync(p, 'utf8').includes('[client] starting')) hits.push(p);
    }
  };
  if (fs.existsSync(logs)) walk(logs);
  return hits[0];
}
async function fakeRequests() {
  const r = await fetch(cfg.fakeUrl.replace(/\/v1$/, '') + '/__requests');
  return r.json();
}

const suites = {
  basic: [
    ['the extension activates and the server attaches', async () => {
      const a = await codex();
      assert.equal(api.serverSource, 'setting');
      await waitFor('client running', () => a.client && a.client.state === RUNNING);
      const info = a.client.initializeResult.serverInfo;
      assert.match(info.name, /codex/i);
      const caps = a.client.initializeResult.capabilities;
      assert.ok(caps.executeCommandProvider.commands.includes('codex.runAction'), 'codex.runAction announced');
    }],
    ['every server setting is contributed with the server default (as VS Code sees it)', async () => {
      const conf = vscode.workspace.getConfiguration('codex');
      const flat = {};
      (function walk(o, p) {
        for (const [k, v] of Object.entries(o)) {
          const key = p ? `${p}.${k}` : k;
          if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, key);
          else flat[key] = v;
        }
      })(cfg.defaults, '');
      for (const [k, v] of Object.entries(flat)) {
        const i = conf.inspect(k);
        assert.ok(i, `codex.${k} is a registered setting`);
        assert.deepEqual(i.defaultValue, v, `default of codex.${k}`);
      }
    }],
    ['a missing API key gives the prompt with a Set API Key button', async () => {
      await codex();
      const m = await waitFor('missing-key prompt', () => api.messages.find((x) => /no API key is set/.test(x)));
      assert.match(m, /OPENAI_API_KEY/);
    }],
    ['Codex: Show Server Log opens the Codex output channel', async () => {
      await vscode.commands.executeCommand('codex.showLog');
      await waitFor('output document', () => vscode.workspace.textDocuments.some((d) => d.uri.scheme === 'output' && /Codex/.test(d.uri.path)), 10000);
    }],
    ['an action without a key says so in VS Code\'s words (Codex: Set API Key), not the environment variable', async () => {
      await codex();
      const { doc } = await open('src/simplify.py');
      const n = api.messages.length;
      const result = await vscode.commands.executeCommand('codex.runAction', {
        action: 'simplify', textDocument: { uri: doc.uri.toString() }, range: { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } },
      });
      assert.equal(result && result.applied, false);
      let seen = [];
      const m = await waitFor('the VS Code missing-key message', () => {
        seen = api.messages.slice(n);
        return seen.find((x) => /Codex: Set API Key/.test(x) && !/environment variable/.test(x));
      }, 10000).catch((e) => { throw new Error(`${e.message}; shown: ${JSON.stringify(seen)}`); });
      assert.ok(m.length < 120, `short enough for a toast: ${m}`);
    }],
    ['without a key VS Code (disabledSupport) gets Codex actions listed disabled, saying how to set the key', async () => {
      await codex();
      const { doc } = await open('src/simplify.py');
      const caps = api.client.initializeResult && api.client.initializeResult.capabilities;
      assert.ok(caps, 'initialized');
      const actions = await api.client.sendRequest('textDocument/codeAction', {
        textDocument: { uri: doc.uri.toString() },
        range: { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } },
        context: { diagnostics: [] },
      });
      assert.ok(Array.isArray(actions) && actions.length >= 5, `listed: ${JSON.stringify(actions)}`);
      for (const a of actions) {
        assert.equal(a.command, undefined, `${a.title} has no command`);
        assert.equal(a.disabled && a.disabled.reason, 'Codex: no API key; run "Codex: Set API Key"', `${a.title}: ${JSON.stringify(a)}`);
      }
    }],
    ['Codex: Restart Server starts a fresh server', async () => {
      const before = api.client;
      await vscode.commands.executeCommand('codex.restartServer');
      await api.ready();
      assert.notEqual(api.client, before, 'a new client');
      assert.equal(before.state, 1, 'the old client is stopped');
      await waitFor('new client running', () => api.client && api.client.state === RUNNING);
    }],
    ['a restart logs no error: the old server is stopped cleanly, its exit is no "[Error]"', async () => {
      await codex();
      const file = await waitFor('the Codex output channel log file', () => codexLogFile());
      const start = fs.readFileSync(file, 'utf8').length;
      await vscode.commands.executeCommand('codex.restartServer');
      await api.ready();
      await waitFor('client running', () => api.client && api.client.state === RUNNING);
      await waitFor('the new server\'s start in the log', () => fs.readFileSync(file, 'utf8').slice(start).includes('[client] server started'), 10000);
      await sleep(1000); // the old process's exit, and the log written to disk
      const added = fs.readFileSync(file, 'utf8').slice(start);
      const errors = added.split('\n').filter((l) => /^\[Error|\[client error\]|exited with code/.test(l));
      assert.deepEqual(errors, [], `the restart logged:\n${added}`);
    }],
    ['a new codex.server.path after start restarts the server with that binary', async () => {
      await codex();
      const conf = vscode.workspace.getConfiguration('codex');
      const good = conf.get('server.path');
      const other = path.join(path.dirname(path.dirname(path.dirname(cfg.userSettings))), 'codex-lsp-other');
      fs.rmSync(other, { force: true });
      fs.symlinkSync(good, other);
      const before = api.client;
      let seen;
      const runs = (p) => async () => {
        await api.ready();
        seen = `${api.serverPath} (client state ${api.client ? api.client.state : 'none'})`;
        return api.client !== before && api.serverPath === p && api.client.state === RUNNING;
      };
      await conf.update('server.path', other, vscode.ConfigurationTarget.Global);
      try {
        await waitFor(`the server restarted from ${other}`, runs(other), 20000)
          .catch((e) => { throw new Error(`${e.message}; the extension runs ${seen}`); });
        assert.equal(api.serverSource, 'setting');
      } finally {
        await conf.update('server.path', good, vscode.ConfigurationTarget.Global);
      }
      await waitFor('the server back on the original path', async () => (await api.ready(), api.serverPath === good && api.client && api.client.state === RUNNING));
    }],
    ['a codex.server.path that does not exist gives an error naming the setting', async () => {
      const conf = vscode.workspace.getConfiguration('codex');
      const good = conf.get('server.path');
      await conf.update('server.path', '/nonexistent/codex-lsp', vscode.ConfigurationTarget.Global);
      try {
        await waitFor('error message', () => api.messages.find((m) => /codex\.server\.path/.test(m) && /nonexistent/.test(m)));
        await api.ready();
        assert.equal(api.client, undefined);
      } finally {
        await conf.update('server.path', good, vscode.ConfigurationTarget.Global);
      }
      await waitFor('server back', async () => (await api.ready(), api.client && api.client.state === RUNNING));
    }],
    ['Codex: Set API Key stores the key and restarts the server', async () => {
      const before = api.client;
      const nMessages = api.messages.length;
      await vscode.commands.executeCommand('codex.setApiKey', 'test-key');
      await api.ready();
      assert.notEqual(api.client, before);
      await waitFor('client running', () => api.client && api.client.state === RUNNING);
      assert.ok(!api.messages.slice(nMessages).some((m) => /no API key/.test(m)), 'no missing-key prompt once a key is set');
      assert.ok(!api.messages.some((m) => m.includes('test-key')), 'the key never appears in messages');
      const settings = fs.readFileSync(cfg.userSettings, 'utf8');
      assert.ok(!settings.includes('test-key'), 'the key is not in settings.json');
    }],
  ],
  model: [
    ['Codex: Rewrite… lists the rewrite action, whose command carries no instruction', async () => {
      await codex();
      const { doc } = await open('src/rewrite.py');
      const actions = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', doc.uri, new vscode.Range(1, 4, 1, 14), 'refactor.rewrite.codex');
      const rewrite = actions.find((a) => a.title === 'Codex: Rewrite…');
      assert.ok(rewrite, `rewrite action among ${actions.map((a) => a.title).join(', ')}`);
      assert.equal(rewrite.command.command, 'codex.runAction');
      assert.equal(rewrite.command.arguments[0].action, 'rewrite');
      assert.equal(rewrite.command.arguments[0].instruction, undefined);
    }],
    ['Codex: Rewrite Selection… (instruction as argument, no prompt) applies exactly the scripted edit', async () => {
      const { doc, editor } = await open('src/rewrite.py');
      editor.selection = new vscode.Selection(0, 0, 2, 0);
      // Runs the server's "Codex: Rewrite…" through editor.action.codeAction; an input box would stall this.
      await vscode.commands.executeCommand('codex.rewriteSelection', 'put spaces around the plus');
      await waitFor('edited text', () => doc.getText() === cfg.expected['src/rewrite.py'], 30000);
      assert.equal(doc.getText(), cfg.expected['src/rewrite.py']);
      const reqs = await fakeRequests();
      const req = reqs.find((r) => JSON.stringify(r).includes('put spaces around the plus'));
      assert.ok(req, 'the fake model saw the instruction');
      // The fake server redacts the value; the harness removed every *API_KEY* variable, so this key came from secret storage.
      assert.ok(req.headers && req.headers.authorization, 'the request carried an Authorization header (the key set with Codex: Set API Key)');
    }],
    ['the status bar model shows the last call\'s cost and token usage', async () => {
      await waitFor('usage', () => api.status.lastUsage);
      assert.equal(api.status.running.size, 0);
      const view = api.status.view();
      // The default model has a price: the text shows money, the tooltip the tokens.
      assert.match(view.text, /Codex \$\d+\.\d+/, `text: ${view.text}`);
      assert.match(view.tooltip, /input \d+ tokens, cached \d+, output \d+/, `tooltip: ${view.tooltip}`);
    }],
    ['after a failed call the status bar shows the failure, without an earlier call\'s token usage', async () => {
      await waitFor('usage of an earlier call', () => api.status.lastUsage);
      const { doc, editor } = await open('src/rewrite.py');
      const before = doc.getText();
      editor.selection = new vscode.Selection(0, 0, 2, 0);
      await vscode.commands.executeCommand('codex.rewriteSelection', 'this call fails on the server');
      const view = await waitFor('the failure in the status bar', () => {
        const v = api.status.view();
        return api.status.running.size === 0 && /HTTP 500/.test(v.tooltip) ? v : false;
      }, 30000);
      assert.doesNotMatch(view.tooltip, /tokens/, `tooltip: ${view.tooltip}`);
      assert.doesNotMatch(view.text, /in \S+ \(cached|Codex \$\d/, `text: ${view.text}`);
      assert.equal(doc.getText(), before, 'document unchanged');
    }],
    ['the status bar shows a running call, and clicking it (codex.cancel) cancels it', async () => {
      const { doc, editor } = await open('src/rewrite.py');
      const before = doc.getText();
      editor.selection = new vscode.Selection(0, 0, 2, 0);
      const nMessages = api.messages.length;
      await vscode.commands.executeCommand('codex.rewriteSelection', 'take your time over this');
      await waitFor('running state', () => api.status.running.size > 0, 10000);
      assert.equal(api.status.view().cancellable, true);
      assert.match(api.status.view().text, /sync~spin/);
      const t0 = Date.now();
      await vscode.commands.executeCommand('codex.cancel');
      await waitFor('idle state', () => api.status.running.size === 0, 6000);
      assert.ok(Date.now() - t0 < 6000, 'cancelled well before the scripted 8 s delay');
      // The cancelled call is a note, not an error: the middleware answered it as { applied: false }.
      await waitFor('cancel noted', () => api.messages.slice(nMessages).includes('Codex: cancelled'), 5000);
      await sleep(500);
      assert.equal(doc.getText(), before, 'document unchanged');
    }],
    ['hover shows the scripted explanation', async () => {
      const { doc } = await open('src/explain.py');
      const text = await waitFor('explanation hover', async () => {
        const hovers = await vscode.commands.executeCommand('vscode.executeHoverProvider', doc.uri, new vscode.Position(1, 8));
        const t = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
        return t.includes(cfg.expected.explanation) ? t : false;
      }, 30000);
      assert.ok(text.includes(cfg.expected.explanation));
      assert.equal(text.split(cfg.expected.explanation).length - 1, 1, `one explanation hover (one provider): ${text}`);
    }],
    ['a diagnostic\'s "Fix with Codex" quick fix applies', async () => {
      const { doc } = await open('src/fix.py');
      const coll = vscode.languages.createDiagnosticCollection('codex-test');
      try {
        const diag = new vscode.Diagnostic(new vscode.Range(1, 4, 1, 17), 'Statement ends with a needless semicolon', vscode.DiagnosticSeverity.Error);
        coll.set(doc.uri, [diag]);
        const actions = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', doc.uri, new vscode.Range(1, 5, 1, 5), 'quickfix', 1);
        const fix = actions.find((a) => a.title === 'Fix with Codex: Statement ends with a needless semicolon');
        assert.ok(fix, `fix among ${actions.map((a) => a.title).join(', ')}`);
        if (fix.edit) assert.ok(await vscode.workspace.applyEdit(fix.edit));
        if (fix.command) await vscode.commands.executeCommand(fix.command.command, ...(fix.command.arguments || []));
        await waitFor('fixed text', () => doc.getText() === cfg.expected['src/fix.py'], 30000);
        await vscode.commands.executeCommand('workbench.action.files.revert');
        assert.notEqual(doc.getText(), cfg.expected['src/fix.py']);
        // The same through "Codex: Fix Diagnostic at Cursor".
        const editor = vscode.window.activeTextEditor;
        editor.selection = new vscode.Selection(1, 5, 1, 5);
        await vscode.commands.executeCommand('codex.fixAtCursor');
        await waitFor('fixed text (command)', () => doc.getText() === cfg.expected['src/fix.py'], 30000);
      } finally {
        coll.dispose();
      }
    }],
    ['editor.action.codeAction with kind refactor.rewrite.codex.simplify (a keybinding) applies the edit', async () => {
      const { doc, editor } = await open('src/simplify.py');
      editor.selection = new vscode.Selection(0, 0, 2, 0);
      await vscode.commands.executeCommand('editor.action.codeAction', { kind: 'refactor.rewrite.codex.simplify', apply: 'ifSingle' });
      await waitFor('simplified text', () => doc.getText() === cfg.expected['src/simplify.py'], 30000);
    }],
    ['Codex: Explain Selection shows the scripted explanation, rendered (a Markdown preview, not the source)', async () => {
      const { doc, editor } = await open('src/explain.py');
      const before = doc.getText();
      assert.ok(!vscode.workspace.textDocuments.some((d) => d.uri.path.endsWith('.md')), 'no explanation shown yet');
      editor.selection = new vscode.Selection(0, 0, 2, 0);
      await vscode.commands.executeCommand('codex.explainSelection');
      // The server shows it with window/showDocument.
      const shown = await waitFor('explanation document shown', () => vscode.workspace.textDocuments.find((d) => d.uri.path.endsWith('.md') && d.getText().includes(cfg.expected.explanation)), 30000);
      assert.ok(shown.getText().includes(cfg.expected.explanation));
      assert.equal(doc.getText(), before, 'explain never edits');
      // Rendered: a Markdown preview, not the Markdown source of the temporary file in a text editor.
      const tabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs);
      let seen = [];
      const preview = await waitFor('a Markdown preview of the explanation', () => {
        seen = tabs().map((t) => `${t.label} (${t.input && (t.input.viewType || (t.input.uri && t.input.uri.scheme))})`);
        return tabs().find((t) => t.input instanceof vscode.TabInputWebview && /markdown\.preview/.test(t.input.viewType) && /explanation/.test(t.label));
      }, 10000).catch((e) => { throw new Error(`${e.message}; tabs: ${seen.join(', ')}`); });
      assert.ok(preview);
      assert.ok(!tabs().some((t) => t.input instanceof vscode.TabInputText && t.input.uri.path.endsWith('.explanation.md')), 'the Markdown source is not shown in a text editor');
    }],
  ],
};

/** Tests whose state (a started client, a stored key) later tests rely on. */
const SETUP = new Set(['basic: the extension activates and the server attaches', 'basic: Codex: Set API Key stores the key and restarts the server']);

exports.run = async function run() {
  const results = { vscode: vscode.version, passed: [], failed: [] };
  for (const suite of cfg.suites) {
    for (const [name, fn] of suites[suite]) {
      const full = `${suite}: ${name}`;
      // A filtered run still runs the setup tests (activation, the key) the others rely on.
      if (cfg.filter && !new RegExp(cfg.filter).test(full) && !SETUP.has(full)) continue;
      const t0 = Date.now();
      try {
        await fn();
        results.passed.push(full);
        console.log(`EXT-TEST ok ${full} (${Date.now() - t0} ms)`);
      } catch (e) {
        results.failed.push({ name: full, error: String(e && e.stack ? e.stack : e) });
        console.log(`EXT-TEST FAIL ${full}: ${e && e.message}`);
      }
    }
  }
  fs.writeFileSync(cfg.results, JSON.stringify(results, null, 2));
  if (results.failed.length) throw new Error(`${results.failed.length} extension-host test(s) failed`);
};
