// UI test, driven like a person through Chromium: the packaged extension (bundled codex-lsp) in
// code-server. Missing-key toast → "Set API Key" → type the key; open src/ui.py; put the cursor in the
// function; open the code action menu (Ctrl+. = lightbulb/quick-fix menu); pick "Codex: Rewrite…";
// type the instruction into the input box that the extension's middleware opens; check the edited
// text on screen and the cost in the status bar; undo, then run "Codex: Rewrite Selection…"
// from the command palette, which asks in the same box. Screenshots go to test-artifacts/vscode/.
'use strict';
const path = require('node:path');

async function shot(page, artifacts, name) {
  const file = path.join(artifacts, name);
  await page.screenshot({ path: file });
  return file;
}

/** The text of the visible editor lines, as the user sees it (NBSPs normalised). */
async function editorText(page) {
  return (await page.locator('.monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
}

exports.run = async function run({ page, url, artifacts, expected, log }) {
  const t0 = Date.now();
  const step = (m) => log(`ui +${Date.now() - t0} ms: ${m}`);
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  step('workbench visible');

  // 1. The missing-key prompt, and its button.
  const toast = page.locator('.notification-toast', { hasText: 'no API key is set' });
  await toast.first().waitFor({ timeout: 60000 });
  step('missing-key toast shown');
  await shot(page, artifacts, 'ui-1-missing-key-prompt.png');
  await toast.first().locator('.monaco-button', { hasText: 'Set API Key' }).click();
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill('test-key');
  await input.press('Enter');
  step('API key entered');

  // 2. Open src/ui.py with Quick Open.
  await page.waitForTimeout(500);
  await page.keyboard.press('Control+P');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill('ui.py');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'ui.py' }).first().waitFor({ timeout: 15000 });
  await input.press('Enter');
  await page.locator('.tab', { hasText: 'ui.py' }).first().waitFor({ timeout: 15000 });
  await page.waitForSelector('.monaco-editor .view-lines', { timeout: 15000 });
  step('ui.py open');

  // 3. Cursor into `return a*b;` and open the code action menu.
  await page.locator('.monaco-editor .view-line', { hasText: 'return a*b' }).first().click();
  const menu = page.locator('.action-widget');
  const rewriteItem = menu.locator('.monaco-list-row.action', { hasText: 'Codex: Rewrite…' });
  for (let attempt = 0; attempt < 10; attempt++) {
    await page.keyboard.press('Control+.');
    try {
      await rewriteItem.first().waitFor({ state: 'visible', timeout: 3000 });
      break;
    } catch {
      if (attempt === 0 && process.env.UI_DEBUG) {
        await shot(page, artifacts, 'debug-menu.png');
        const html = await page.locator('.action-widget').first().innerHTML().catch((e) => String(e));
        require('node:fs').writeFileSync(path.join(artifacts, 'debug-menu.html'), html);
      }
      await page.keyboard.press('Escape');
      await page.waitForTimeout(500); // the server may still be (re)starting after the key was set
    }
  }
  await rewriteItem.first().waitFor({ state: 'visible', timeout: 1000 });
  step('code action menu shows Codex: Rewrite…');
  await shot(page, artifacts, 'ui-2-code-action-menu.png');
  // Pick it with the keyboard, as the menu's pointer guard swallows synthetic clicks.
  for (let i = 0; i < 12; i++) {
    const focused = await menu.locator('.monaco-list-row.action.focused').first().getAttribute('aria-label');
    if (focused === 'Codex: Rewrite…') break;
    await page.keyboard.press('ArrowDown');
  }
  await page.keyboard.press('Enter');

  // 4. The middleware asks for the instruction.
  await page.locator('.quick-input-widget', { hasText: 'How should Codex rewrite' }).waitFor({ state: 'visible', timeout: 15000 });
  await input.fill('put spaces around the star');
  await shot(page, artifacts, 'ui-3-instruction.png');
  await input.press('Enter');
  step('instruction entered');

  // 5. The edit appears on screen.
  const want = 'return a * b';
  const text = await waitForText(page, want);
  const wantAll = expected['src/ui.py'].trimEnd();
  if (text.trimEnd() !== wantAll) throw new Error(`editor text is\n${text}\nexpected\n${wantAll}`);
  step('edited text on screen');

  // 6. The status bar shows what the last call cost (gpt-5.3-codex has a price) and the session total.
  const status = page.locator('.statusbar-item', { hasText: /Codex \$\d+\.\d+ · session \$\d+\.\d+/ });
  await status.first().waitFor({ timeout: 15000 });
  step(`status bar: ${(await status.first().innerText()).replace(/\s+/g, ' ')}`);
  await shot(page, artifacts, 'ui-4-rewritten.png');

  // 7. Undo, then the same through the command palette: "Codex: Rewrite Selection…" asks in the same box.
  await page.locator('.monaco-editor .view-line', { hasText: want }).first().click();
  await page.keyboard.press('Control+Z');
  await waitForText(page, 'return a*b');
  step('undone');
  await page.keyboard.press('Control+Shift+P');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill('>Codex: Rewrite Selection');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Codex: Rewrite Selection' }).first().waitFor({ timeout: 15000 });
  await input.press('Enter');
  await page.locator('.quick-input-widget', { hasText: 'How should Codex rewrite' }).waitFor({ state: 'visible', timeout: 15000 });
  step('the palette command asks for the instruction');
  await input.fill('put spaces around the star');
  await shot(page, artifacts, 'ui-5-palette-instruction.png');
  await input.press('Enter');
  await waitForText(page, want);
  if ((await editorText(page)).trimEnd() !== wantAll) throw new Error(`editor text is\n${await editorText(page)}\nexpected\n${wantAll}`);
  step('palette rewrite on screen');
  await shot(page, artifacts, 'ui-6-palette-rewritten.png');
};

async function waitForText(page, want) {
  for (let i = 0; ; i++) {
    const text = await editorText(page);
    if (text.includes(want)) return text;
    if (i > 300) throw new Error(`the editor never showed "${want}"; it shows:\n${text}`);
    await page.waitForTimeout(100);
  }
}
