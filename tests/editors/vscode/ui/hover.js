// UI test, driven like a person through Chromium, on the packaged extension in code-server: in a
// TypeScript file, resting the mouse on a function's name shows VS Code's own (TypeScript) hover first and
// the Codex explanation after it. Screenshots go to test-artifacts/vscode/.
'use strict';
const path = require('node:path');

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
  const step = (m) => log(`ui-hover +${Date.now() - t0} ms: ${m}`);
  const input = page.locator('.quick-input-widget input');
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  await page.locator('.notification-toast', { hasText: 'no API key is set' }).first().waitFor({ timeout: 60000 });
  await palette(page, 'Codex: Set API Key');
  await page.locator('.quick-input-widget', { hasText: 'secret storage' }).waitFor({ state: 'visible', timeout: 15000 });
  await input.fill('test-key');
  await input.press('Enter');
  step('API key set');

  await page.waitForTimeout(500);
  await page.keyboard.press('Control+P');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill('hover.ts');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'hover.ts' }).first().waitFor({ timeout: 15000 });
  await input.press('Enter');
  await page.locator('.tab', { hasText: 'hover.ts' }).first().waitFor({ timeout: 15000 });
  const name = page.locator('.monaco-editor .view-line span', { hasText: /^greet$/ }).first();
  await name.waitFor({ timeout: 15000 });
  step('hover.ts open');

  // Rest the mouse on `greet` until both hovers are there (TypeScript starts up; the model answers).
  const content = page.locator('.monaco-hover-content:visible').first();
  let text = '';
  for (let i = 0; i < 30; i++) {
    await page.mouse.move(5, 5);
    await page.waitForTimeout(200);
    await name.hover();
    try {
      await content.waitFor({ state: 'visible', timeout: 3000 });
      for (let j = 0; j < 20; j++) {
        text = (await content.innerText()).replace(/\s+/g, ' ');
        if (text.includes(expected.explanation) && /function greet\(name: string\): string/.test(text)) break;
        await page.waitForTimeout(250);
      }
      if (text.includes(expected.explanation) && /function greet\(name: string\): string/.test(text)) break;
    } catch { /* no hover yet */ }
  }
  await page.screenshot({ path: path.join(artifacts, 'ui-hover-1.png') });
  step(`hover: ${text.slice(0, 200)}`);
  const ts = text.search(/function greet\(name: string\): string/);
  const codex = text.indexOf(expected.explanation);
  if (ts < 0 || codex < 0) throw new Error(`the hover does not show both VS Code's TypeScript hover and the explanation: ${text}`);
  if (codex < ts) throw new Error(`the Codex explanation sits above VS Code's TypeScript hover: ${text}`);
};
