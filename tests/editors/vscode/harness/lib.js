// Shared helpers of the VS Code test harness: processes, code-server, fake Responses server, Chromium.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const here = path.resolve(__dirname, '..');
const repo = path.resolve(here, '..', '..', '..');

function log(...a) {
  console.log('[harness]', ...a);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every process we start, so we can stop exactly those (by pid) at the end. */
const children = new Set();
function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
async function stopAll() {
  for (const c of [...children]) {
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {
      try { c.kill('SIGTERM'); } catch { /* gone */ }
    }
  }
  for (let i = 0; i < 50 && children.size; i++) await sleep(100);
  for (const c of [...children]) {
    try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

/** Starts the fake Responses server; resolves with its base URL (first stdout line). */
function startFakeResponses(bin, scriptFile, logFile) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(bin, ['--port', '0', '--script', scriptFile], { stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
    const out = fs.createWriteStream(logFile);
    child.stderr.pipe(out);
    let buf = '';
    const timer = setTimeout(() => reject(new Error('fake-responses printed no URL within 20 s')), 20000);
    child.stdout.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        const url = buf.slice(0, nl).trim();
        if (!/^http:\/\/127\.0\.0\.1:\d+\/v1$/.test(url)) reject(new Error(`fake-responses printed ${JSON.stringify(url)}`));
        else resolve({ url, child });
      }
    });
    child.once('exit', (code) => reject(new Error(`fake-responses exited with ${code}`)));
  });
}

/** Starts code-server with a fresh user-data dir; resolves when /healthz answers. */
async function startCodeServer({ codeServer, dataDir, folder, env, userSettings }) {
  const port = await freePort();
  fs.mkdirSync(path.join(dataDir, 'user', 'User'), { recursive: true });
  fs.mkdirSync(path.join(dataDir, 'ext'), { recursive: true });
  fs.mkdirSync(path.join(dataDir, 'tmp'), { recursive: true });
  fs.writeFileSync(path.join(dataDir, 'user', 'User', 'settings.json'), JSON.stringify(userSettings, null, 2));
  const childEnv = {
    ...env,
    TMPDIR: path.join(dataDir, 'tmp'),
    XDG_CONFIG_HOME: path.join(dataDir, 'xdg'),
    XDG_DATA_HOME: path.join(dataDir, 'xdg'),
    XDG_CACHE_HOME: path.join(dataDir, 'xdg'),
  };
  const args = ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', path.join(dataDir, 'user'),
    '--extensions-dir', path.join(dataDir, 'ext'), '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', folder];
  const logFd = fs.openSync(path.join(dataDir, 'code-server.log'), 'a');
  const child = track(spawn(codeServer, args, { env: childEnv, stdio: ['ignore', logFd, logFd], detached: true }));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}; see ${dataDir}/code-server.log`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) return { base, authority: `127.0.0.1:${port}`, child };
    } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error('code-server did not answer /healthz within 30 s');
}

/** A fresh headless Chromium (Debian's) through playwright-core. */
async function launchChromium(profileDir) {
  const { chromium } = require('playwright-core');
  fs.mkdirSync(profileDir, { recursive: true });
  return chromium.launchPersistentContext(profileDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    viewport: { width: 1400, height: 900 },
  });
}

function workbenchUrl(base, folder, payload) {
  let url = `${base}/?folder=${encodeURIComponent(folder)}`;
  if (payload) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return url;
}

/** Copies the fixture workspace to a fresh folder. */
function freshWorkspace(dest) {
  fs.rmSync(dest, { recursive: true, force: true });
  fs.cpSync(path.join(here, 'fixtures', 'workspace'), dest, { recursive: true });
  return dest;
}

module.exports = { here, repo, log, freePort, sleep, track, stopAll, startFakeResponses, startCodeServer, launchChromium, workbenchUrl, freshWorkspace, os };
