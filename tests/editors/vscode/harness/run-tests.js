// Runs the VS Code tests in a real VS Code (code-server) driven by headless Chromium:
//   1. extension-host integration tests (exthost/index.js) on the real `vscode` API, extension loaded
//      from editors/vscode as a development extension, codex.server.path = the freshly built binary;
//   2. Playwright UI tests (UI_TESTS: ui/lightbulb.js, ui/settings.js, ui/progress.js, ui/hover.js, ui/review.js) on the
//      packaged .vsix (bundled server binary), each in a fresh code-server, used like a person would (the
//      lightbulb menu, the Settings editor, the status bar, toasts, hovers); screenshots under test-artifacts/vscode/.
// Usage: node run-tests.js --codex-lsp BIN --fake-responses BIN --code-server BIN --vsix FILE [--suites basic,model] [--no-ui]
//        [--filter REGEX]   only the tests whose full name ("basic: …", "model: …", "ui: …") matches REGEX
// Writes test-artifacts/vscode/summary.json and prints one line per test.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const lib = require('./lib');

function parseArgs(argv) {
  const o = { suites: 'basic,model', ui: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-ui') o.ui = false;
    else if (a.startsWith('--')) o[a.slice(2).replace(/-(.)/g, (_, c) => c.toUpperCase())] = argv[++i];
  }
  o.suites = o.suites.split(',').filter((s) => s && s !== 'none'); // --suites none: UI tests only
  return o;
}

/** Files under dir (recursively) whose bytes contain needle. */
function filesContaining(dir, needle) {
  const hits = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.statSync(p).size < 64 * 1024 * 1024 && fs.readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

/** The key typed in the tests must not be written to settings, logs (LSP trace included) or the output channel. */
function keyLeakCheck(name, dataDir) {
  const test = `${name}: the API key is in no settings or log file of VS Code (output channel and LSP trace included)`;
  const userDir = path.join(dataDir, 'user');
  const logs = filesContaining(userDir, 'test-key');
  const codexLogs = filesContaining(userDir, '[client] starting');
  if (codexLogs.length === 0) return { passed: [], failed: [{ name: test, error: 'found no Codex output channel log to check' }] };
  return logs.length ? { passed: [], failed: [{ name: test, error: `the key is in ${logs.join(', ')}` }] } : { passed: [test], failed: [] };
}

async function runExtensionHostTests(o, ctx) {
  const name = 'exthost';
  const dataDir = path.join(ctx.work, name);
  fs.rmSync(dataDir, { recursive: true, force: true });
  const ws = lib.freshWorkspace(path.join(dataDir, 'workspace'));
  const extDir = path.join(lib.repo, 'editors', 'vscode');
  const userSettingsFile = path.join(dataDir, 'user', 'User', 'settings.json');
  const results = path.join(ctx.artifacts, 'exthost-results.json');
  fs.rmSync(results, { force: true });
  const testConfig = path.join(dataDir, 'test-config.json');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(testConfig, JSON.stringify({
    suites: o.suites, results, workspace: ws, fakeUrl: ctx.fakeUrl, defaults: ctx.defaults, expected: ctx.expected, userSettings: userSettingsFile,
    filter: o.filter || null,
  }, null, 2));
  const cs = await lib.startCodeServer({
    codeServer: o.codeServer, dataDir, folder: ws,
    env: { ...ctx.env, CODEX_TEST_CONFIG: testConfig },
    userSettings: { ...ctx.baseSettings, 'codex.server.path': path.resolve(o.codexLsp) },
  });
  const browser = await lib.launchChromium(path.join(dataDir, 'chromium'));
  try {
    const page = browser.pages()[0] || (await browser.newPage());
    const consoleLog = fs.createWriteStream(path.join(ctx.artifacts, 'exthost-console.log'));
    page.on('console', (m) => {
      const t = m.text();
      consoleLog.write(`${t}\n`);
      if (/EXT-TEST/.test(t)) console.log('   ', t.replace(/^.*?(EXT-TEST)/, '$1'));
    });
    const exited = new Promise((res) => page.exposeFunction('codeAutomationExit', (code) => res(code)));
    const t0 = Date.now();
    await page.goto(lib.workbenchUrl(cs.base, ws, [
      ['extensionDevelopmentPath', `vscode-remote://${cs.authority}${extDir}`],
      ['extensionTestsPath', `vscode-remote://${cs.authority}${path.join(lib.here, 'exthost', 'index.js')}`],
    ]));
    const timeoutMs = +(process.env.EXTHOST_TIMEOUT_MS || 240000);
    const code = await Promise.race([exited, lib.sleep(timeoutMs).then(() => 'timeout')]);
    lib.log(`extension host exit code ${code} after ${Date.now() - t0} ms`);
    await page.screenshot({ path: path.join(ctx.artifacts, 'exthost-final.png') }).catch(() => undefined);
    if (!fs.existsSync(results)) {
      return { passed: [], failed: [{ name: 'exthost: the extension-host test run', error: `no results (exit code ${code}); see test-artifacts/vscode/exthost-console.log` }] };
    }
    const r = JSON.parse(fs.readFileSync(results, 'utf8'));
    lib.log(`VS Code ${r.vscode} in code-server`);
    if (code !== 0 && r.failed.length === 0) r.failed.push({ name: 'exthost: exit code', error: `exit code ${code}` });
    if (o.suites.includes('basic')) {
      const leak = keyLeakCheck('exthost', dataDir);
      r.passed.push(...leak.passed);
      r.failed.push(...leak.failed);
    }
    return r;
  } finally {
    await browser.close().catch(() => undefined);
    try { process.kill(-cs.child.pid, 'SIGTERM'); } catch { /* gone */ }
  }
}

/** UI tests on the packaged .vsix, each in a fresh code-server (fresh user data, no key stored). */
const UI_TESTS = [
  ['ui: lightbulb and palette rewrite on the packaged extension', '../ui/lightbulb'],
  ['ui: codex.server.path set in the Settings editor after start (remote window) restarts the server', '../ui/settings'],
  ['ui: one progress display during a call, and clicking it cancels the call; without a key an action offers Set API Key; an explanation is rendered', '../ui/progress'],
  ['ui: in a TypeScript file VS Code\'s own hover comes first, the Codex explanation after it', '../ui/hover'],
  ['ui: a multi-file edit opens the Refactor Preview, and applying it changes both files', '../ui/review'],
];

async function runUiTest(o, ctx, name, modulePath, index) {
  const dataDir = path.join(ctx.work, `ui${index}`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  const ws = lib.freshWorkspace(path.join(dataDir, 'workspace'));
  // Install the packaged extension the way a user would.
  const { execFileSync } = require('node:child_process');
  fs.mkdirSync(path.join(dataDir, 'ext'), { recursive: true });
  execFileSync(o.codeServer, ['--extensions-dir', path.join(dataDir, 'ext'), '--user-data-dir', path.join(dataDir, 'user'), '--install-extension', path.resolve(o.vsix)],
    { env: { ...ctx.env, TMPDIR: ctx.tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  const cs = await lib.startCodeServer({ codeServer: o.codeServer, dataDir, folder: ws, env: ctx.env, userSettings: ctx.baseSettings });
  const browser = await lib.launchChromium(path.join(dataDir, 'chromium'));
  const uiTest = require(modulePath);
  const label = `ui${index}`;
  try {
    const page = browser.pages()[0] || (await browser.newPage());
    await uiTest.run({ page, url: lib.workbenchUrl(cs.base, ws), artifacts: ctx.artifacts, expected: ctx.expected, fakeUrl: ctx.fakeUrl, log: lib.log, workspace: ws });
    const leak = keyLeakCheck(label, dataDir);
    return { passed: [name, ...leak.passed], failed: leak.failed };
  } catch (e) {
    const page = browser.pages()[0];
    if (page) await page.screenshot({ path: path.join(ctx.artifacts, `${label}-failure.png`) }).catch(() => undefined);
    return { passed: [], failed: [{ name, error: String(e && e.stack ? e.stack : e) }] };
  } finally {
    await browser.close().catch(() => undefined);
    try { process.kill(-cs.child.pid, 'SIGTERM'); } catch { /* gone */ }
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  for (const k of ['codexLsp', 'codeServer']) if (!o[k]) throw new Error(`--${k} is required`);
  const artifacts = path.join(lib.repo, 'test-artifacts', 'vscode');
  fs.mkdirSync(artifacts, { recursive: true });
  const work = path.join(lib.repo, '.tools', 'vscode-run');
  const tmp = path.join(work, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const { execFileSync } = require('node:child_process');
  const defaults = JSON.parse(execFileSync(o.codexLsp, ['--print-default-settings'], { encoding: 'utf8' }));
  const expected = JSON.parse(fs.readFileSync(path.join(lib.here, 'fixtures', 'expected.json'), 'utf8'));
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/API_KEY/.test(k)) delete env[k]; // the tests decide about keys
  delete env.NODE_OPTIONS;

  const needsModel = o.suites.includes('model') || o.ui;
  let fakeUrl = 'http://127.0.0.1:9/v1';
  const all = { passed: [], failed: [] };
  const add = (r) => { all.passed.push(...r.passed); all.failed.push(...r.failed); };
  try {
    if (needsModel) {
      try {
        if (!o.fakeResponses) throw new Error('--fake-responses is required for the model suite and the UI test');
        const f = await lib.startFakeResponses(o.fakeResponses, path.join(lib.here, 'fixtures', 'scenario.json'), path.join(artifacts, 'fake-responses.log'));
        fakeUrl = f.url;
        lib.log(`fake Responses server at ${fakeUrl}`);
      } catch (e) {
        // Without the fake model the model suite and the UI test cannot run: they count as one failure.
        all.failed.push({ name: 'model suite and UI test: the fake Responses server did not start', error: String(e && e.message ? e.message : e) });
        o.suites = o.suites.filter((s) => s !== 'model');
        o.ui = false;
      }
    }
    const baseSettings = {
      'security.workspace.trust.enabled': false,
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'telemetry.telemetryLevel': 'off',
      'git.enabled': false,
      'git.openRepositoryInParentFolders': 'never',
      'editor.hover.delay': 300,
      'codex.baseUrl': fakeUrl,
      'codex.maxRetries': 0,
      'codex.requestTimeoutMs': 30000,
      'codex.trace.server': 'messages',
    };
    const ctx = { artifacts, work, tmp, defaults, expected, env, fakeUrl, baseSettings };
    if (o.suites.length) add(await runExtensionHostTests(o, ctx));
    if (o.ui) {
      for (const [i, [name, mod]] of UI_TESTS.entries()) {
        if (o.filter && !new RegExp(o.filter).test(name)) continue;
        add(await runUiTest(o, ctx, name, mod, i + 1));
      }
    }
  } catch (e) {
    all.failed.push({ name: 'harness', error: String(e && e.stack ? e.stack : e) });
  } finally {
    await lib.stopAll();
  }
  for (const p of all.passed) console.log(`ok   ${p}`);
  for (const f of all.failed) console.log(`FAIL ${f.name}\n${f.error.split('\n').map((l) => `     ${l}`).join('\n')}`);
  fs.writeFileSync(path.join(artifacts, 'summary.json'), JSON.stringify(all, null, 2));
  console.log(`vscode-e2e: ${all.passed.length} passed, ${all.failed.length} failed`);
  process.exit(all.failed.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
