// UI test, driven like a person through Chromium, on the packaged extension in code-server:
//   1. "Codex: Set API Key" from the command palette; a slow rewrite ("Codex: Rewrite Selection…") shows ONE
//      progress display in the status bar (the Codex item, not also VS Code's own spinner for $/progress),
//      and clicking it cancels the call: the document is unchanged;
//   2. "Codex: Clear API Key", then "Codex: Explain Selection": the missing-key message is VS Code's
//      (no environment variable), with "Set API Key" as its first button, which asks for the key;
//   3. "Codex: Explain Selection" shows the explanation rendered, in a Markdown preview.
// Screenshots go to test-artifacts/vscode/.
'use strict';
const path = require('node:path');

async function shot(page, artifacts, name) {
  await page.screenshot({ path: path.join(artifacts, name) });
}

async function editorText(page) {
  return (await page.locator('.monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
}

async function palette(page, command) {
  const input = page.locator('.quick-input-widget input');
  await page.keyboard.press('Control+Shift+P');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill(`>${command}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first().waitFor({ timeout: 15000 });
  await input.press('Enter');
}

exports.run = async function run({ page, url, artifacts, expected, log }) {
  const t0 = Date.now();
  const step = (m) => log(`ui-progress +${Date.now() - t0} ms: ${m}`);
  const input = page.locator('.quick-input-widget input');
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  await page.locator('.notification-toast', { hasText: 'no API key is set' }).first().waitFor({ timeout: 60000 });
  step('workbench visible, missing-key toast shown');
  await page.keyboard.press('Escape');

  // 1. The key, from the command palette.
  await palette(page, 'Codex: Set API Key');
  await page.locator('.quick-input-widget', { hasText: 'secret storage' }).waitFor({ state: 'visible', timeout: 15000 });
  await input.fill('test-key');
  await input.press('Enter');
  step('API key set');

  // Open src/rewrite.py, select it all.
  await page.waitForTimeout(500);
  await page.keyboard.press('Control+P');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill('rewrite.py');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'rewrite.py' }).first().waitFor({ timeout: 15000 });
  await input.press('Enter');
  await page.locator('.tab', { hasText: 'rewrite.py' }).first().waitFor({ timeout: 15000 });
  await page.locator('.monaco-editor .view-line', { hasText: 'return a+b' }).first().click();
  const before = await editorText(page);
  await page.keyboard.press('Control+A');

  // A slow rewrite (the fake model waits 8 s before it answers "take your time over this").
  for (let attempt = 0; ; attempt++) {
    await palette(page, 'Codex: Rewrite Selection');
    try {
      await page.locator('.quick-input-widget', { hasText: 'How should Codex rewrite' }).waitFor({ state: 'visible', timeout: 5000 });
      break;
    } catch (e) {
      if (attempt >= 5) throw e;
      await page.keyboard.press('Escape'); // the server may still be restarting after the key was set
      await page.waitForTimeout(1000);
    }
  }
  await input.fill('take your time over this');
  await input.press('Enter');
  const spinners = page.locator('.statusbar-item .codicon-modifier-spin');
  await spinners.first().waitFor({ state: 'visible', timeout: 15000 });
  await page.waitForTimeout(1500); // VS Code shows its window progress after a short delay
  await shot(page, artifacts, 'ui-progress-1-running.png');
  const labels = (await page.locator('.statusbar-item:has(.codicon-modifier-spin)').allInnerTexts()).filter((t) => !/Activating Extensions/.test(t));
  step(`spinning status bar items: ${JSON.stringify(labels)}`);
  if (labels.length !== 1) throw new Error(`expected one progress display in the status bar, found ${labels.length}: ${JSON.stringify(labels)}`);

  // Clicking it cancels the call.
  const tc = Date.now();
  await page.locator('.statusbar-item:has(.codicon-modifier-spin) a, .statusbar-item:has(.codicon-modifier-spin)').first().click();
  await spinners.first().waitFor({ state: 'detached', timeout: 6000 });
  step(`cancelled after ${Date.now() - tc} ms`);
  await page.waitForTimeout(500);
  const after = await editorText(page);
  if (after !== before) throw new Error(`the cancelled rewrite changed the document:\n${after}`);
  await shot(page, artifacts, 'ui-progress-2-cancelled.png');


  // 2. Without a key, an action's message is VS Code's, with "Set API Key" first.
  await palette(page, 'Codex: Clear API Key');
  await page.waitForTimeout(1500); // the server restarts without the key
  await page.locator('.monaco-editor .view-line', { hasText: 'return a+b' }).first().click();
  await page.keyboard.press('Control+A');
  await palette(page, 'Codex: Explain Selection');
  const toast = page.locator('.notification-toast', { hasText: 'Codex needs an API key' }).first();
  await toast.waitFor({ timeout: 20000 });
  const text = (await toast.locator('.notification-list-item-message').innerText()).replace(/\s+/g, ' ');
  step(`missing-key toast: ${text}`);
  await shot(page, artifacts, 'ui-progress-3-missing-key.png');
  if (/environment variable/.test(text)) throw new Error(`the missing-key message is written for other editors: ${text}`);
  const buttons = await toast.locator('.monaco-button').allInnerTexts();
  if (buttons[0] !== 'Set API Key') throw new Error(`the first button is ${JSON.stringify(buttons[0])}; buttons: ${JSON.stringify(buttons)}`);
  await toast.locator('.monaco-button', { hasText: 'Set API Key' }).click();
  await page.locator('.quick-input-widget', { hasText: 'secret storage' }).waitFor({ state: 'visible', timeout: 15000 });
  await input.fill('test-key');
  await input.press('Enter');
  step('the button asked for the key');

  // 3. With the key, "Codex: Explain Selection" shows the explanation rendered, in a Markdown preview.
  await page.waitForTimeout(1500); // the server restarts with the key
  await page.locator('.monaco-editor .view-line', { hasText: 'return a+b' }).first().click();
  await page.keyboard.press('Control+A');
  await palette(page, 'Codex: Explain Selection');
  await page.locator('.tab', { hasText: /^Preview .*\.explanation\.md/ }).first().waitFor({ timeout: 30000 });
  const body = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame').locator('body');
  await body.getByText(expected.explanation).first().waitFor({ timeout: 20000 });
  step('the explanation is rendered in a Markdown preview');
  await shot(page, artifacts, 'ui-progress-4-explanation.png');
};
