// UI test, driven like a person through Chromium, on the packaged extension in code-server (a remote
// window: its User settings are not the remote machine's): after start, open the Settings editor (User
// tab, as the error's "Open Settings" button does), find codex.server.path, set it to a path that does not
// exist: the server restarts and the error names the setting; its "Open Settings" button lands where the
// setting is shown; emptying it restarts on the bundled binary. Screenshots go to test-artifacts/vscode/.
'use strict';
const path = require('node:path');

async function shot(page, artifacts, name) {
  await page.screenshot({ path: path.join(artifacts, name) });
}

async function palette(page, command) {
  const input = page.locator('.quick-input-widget input');
  await page.keyboard.press('Control+Shift+P');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill(`>${command}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first().waitFor({ timeout: 15000 });
  await input.press('Enter');
}

/** The codex.server.path row of the open Settings editor, or throws with what the editor shows instead. */
async function serverPathRow(page, artifacts, name) {
  const editor = page.locator('.settings-editor');
  await editor.waitFor({ state: 'visible', timeout: 15000 });
  const row = editor.locator('.setting-item-contents', { hasText: 'Path to the' }).first();
  for (let i = 0; i < 50; i++) {
    if (await row.isVisible().catch(() => false)) return row;
    await page.waitForTimeout(200);
  }
  await shot(page, artifacts, name);
  const tab = await editor.locator('.settings-tabs-widget .checked').first().innerText().catch(() => '?');
  const none = await editor.locator('.no-results-message').first().innerText().catch(() => '');
  throw new Error(`the Settings editor (tab ${JSON.stringify(tab.trim())}) does not show codex.server.path: ${JSON.stringify(none.trim() || 'no row')}`);
}

exports.run = async function run({ page, url, artifacts, log }) {
  const t0 = Date.now();
  const step = (m) => log(`ui-settings +${Date.now() - t0} ms: ${m}`);
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  await page.locator('.notification-toast', { hasText: 'no API key is set' }).first().waitFor({ timeout: 60000 });
  step('workbench visible, the extension started');

  // The Settings editor, User tab, searched for the setting.
  await palette(page, 'Preferences: Open User Settings');
  await page.locator('.settings-editor').waitFor({ state: 'visible', timeout: 15000 });
  await page.waitForTimeout(500);
  await page.keyboard.type('codex.server.path');
  const row = await serverPathRow(page, artifacts, 'ui-settings-1-not-found.png');
  step('the User tab shows codex.server.path');
  await shot(page, artifacts, 'ui-settings-1-user-tab.png');

  // A path that does not exist: the server restarts, and the error names the setting.
  const field = row.locator('input').first();
  await field.click();
  await field.fill('/nonexistent/codex-lsp');
  await field.press('Tab');
  const toast = page.locator('.notification-toast', { hasText: 'codex.server.path' }).first();
  await toast.waitFor({ timeout: 20000 });
  step(`error: ${(await toast.innerText()).replace(/\s+/g, ' ').slice(0, 200)}`);
  await shot(page, artifacts, 'ui-settings-2-error.png');

  // Its "Open Settings" button lands where the setting is shown.
  await page.keyboard.press('Control+W'); // close the Settings editor first
  await toast.locator('.monaco-button', { hasText: 'Open Settings' }).click();
  const again = await serverPathRow(page, artifacts, 'ui-settings-3-open-settings.png');
  step('"Open Settings" shows the setting');

  // Emptied: the server starts again (the bundled binary), no new error.
  const field2 = again.locator('input').first();
  await field2.click();
  await field2.fill('');
  await field2.press('Tab');
  await page.waitForTimeout(3000);
  await shot(page, artifacts, 'ui-settings-3-emptied.png');
};
