// UI test, driven like a person through Chromium, on the packaged extension in code-server: "Codex: Simplify"
// on src/review.py, whose scripted model reads src/review_shapes.py and patches both files. A multi-file edit
// needs review (codex.confirmEdits "auto"): the server sends it with workspace/applyEdit and a change
// annotation that needs confirmation, so VS Code opens its Refactor Preview listing both files, and nothing
// changes until "Apply" is clicked. "Discard" changes nothing and Codex says so once; ticking both files
// and "Apply" puts the edit in both files (checked on disk after File: Save All).
// The extension has no code for the preview. Screenshots go to test-artifacts/vscode/.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const REVIEW_AFTER = 'from review_shapes import Square\n\n\ndef review_area(s):\n    return s.size ** 2\n';
const SHAPES_AFTER = 'class Square:\n    def __init__(self, side):\n        self.side = side\n        self.size = side\n';

async function palette(page, command) {
  const input = page.locator('.quick-input-widget input');
  await page.keyboard.press('Control+Shift+P');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill(`>${command}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first().waitFor({ timeout: 15000 });
  await input.press('Enter');
}

async function waitForFile(file, want, what) {
  for (let i = 0; ; i++) {
    const text = fs.readFileSync(file, 'utf8');
    if (text === want) return;
    if (i > 150) throw new Error(`${what} on disk is\n${text}\nexpected\n${want}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

exports.run = async function run({ page, url, artifacts, log, workspace }) {
  const t0 = Date.now();
  const step = (m) => log(`ui-review +${Date.now() - t0} ms: ${m}`);
  const shot = (name) => page.screenshot({ path: path.join(artifacts, name) });
  const input = page.locator('.quick-input-widget input');
  const reviewFile = path.join(workspace, 'src', 'review.py');
  const shapesFile = path.join(workspace, 'src', 'review_shapes.py');
  const reviewBefore = fs.readFileSync(reviewFile, 'utf8');
  const shapesBefore = fs.readFileSync(shapesFile, 'utf8');

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
  await input.fill('review.py');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'review.py' }).first().waitFor({ timeout: 15000 });
  await input.press('Enter');
  await page.locator('.tab', { hasText: 'review.py' }).first().waitFor({ timeout: 15000 });
  step('review.py open');

  // The code action menu (Ctrl+.), "Codex: Simplify", picked with the keyboard (the menu's pointer guard
  // swallows synthetic clicks); the Refactor Preview opens with both files, nothing applied yet.
  const pane = page.locator('.bulk-edit-panel[data-state="data"]');
  const simplifyToPreview = async () => {
    await page.locator('.monaco-editor .view-line', { hasText: 'return s.size * s.size' }).first().click();
    const menu = page.locator('.action-widget');
    const item = menu.locator('.monaco-list-row.action', { hasText: 'Codex: Simplify' });
    for (let attempt = 0; attempt < 10; attempt++) {
      await page.keyboard.press('Control+.');
      try {
        await item.first().waitFor({ state: 'visible', timeout: 3000 });
        break;
      } catch {
        await page.keyboard.press('Escape');
        await page.waitForTimeout(500); // the server may still be (re)starting after the key was set
      }
    }
    await item.first().waitFor({ state: 'visible', timeout: 1000 });
    for (let i = 0; i < 12; i++) {
      const focused = await menu.locator('.monaco-list-row.action.focused').first().getAttribute('aria-label');
      if (focused === 'Codex: Simplify') break;
      await page.keyboard.press('ArrowDown');
    }
    await page.keyboard.press('Enter');
    step('Codex: Simplify picked');
    await pane.first().waitFor({ state: 'visible', timeout: 60000 });
    for (const name of ['review.py', 'review_shapes.py']) {
      await pane.locator('.monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible', timeout: 15000 });
    }
    step('the Refactor Preview lists review.py and review_shapes.py');
  };
  const unchanged = () => {
    if (fs.readFileSync(reviewFile, 'utf8') !== reviewBefore || fs.readFileSync(shapesFile, 'utf8') !== shapesBefore) {
      throw new Error('a file changed before the edit was applied in the Refactor Preview');
    }
  };

  // 1. Discard: nothing changes, and Codex says so once.
  await simplifyToPreview();
  await shot('ui-review-1-preview.png');
  await pane.locator('.buttons .monaco-button', { hasText: 'Discard' }).first().click();
  const rejected = page.locator('.notification-toast', { hasText: 'edit not applied (rejected in review)' });
  await rejected.first().waitFor({ timeout: 15000 });
  step('discarded: Codex says the edit was not applied');
  await palette(page, 'File: Save All');
  await page.waitForTimeout(300);
  unchanged();
  if ((await rejected.count()) !== 1) throw new Error(`the rejection was told ${await rejected.count()} times`);
  await shot('ui-review-2-discarded.png');

  // 2. Again; the changes of an edit that needs confirmation come unticked: tick both files, then Apply.
  await simplifyToPreview();
  unchanged();
  for (const name of ['review.py', 'review_shapes.py']) {
    const box = pane.locator('.monaco-list-row', { hasText: name }).first().locator('input.edit-checkbox').first();
    if (!(await box.isChecked())) await box.click();
  }
  const boxes = pane.locator('input.edit-checkbox');
  for (let i = 0; i < (await boxes.count()); i++) {
    if (!(await boxes.nth(i).isChecked())) throw new Error(`change ${i} of the preview is not ticked after ticking both files`);
  }
  step('both files ticked');
  await shot('ui-review-3-ticked.png');

  // Apply: both files change.
  await pane.locator('.buttons .monaco-button', { hasText: 'Apply' }).first().click();
  await pane.first().waitFor({ state: 'hidden', timeout: 15000 }).catch(() => undefined);
  await page.locator('.monaco-editor .view-line', { hasText: 'return s.size ** 2' }).first().waitFor({ timeout: 15000 });
  step('applied: review.py shows the edit');
  await palette(page, 'File: Save All');
  await waitForFile(reviewFile, REVIEW_AFTER, 'src/review.py');
  await waitForFile(shapesFile, SHAPES_AFTER, 'src/review_shapes.py');
  step('both files hold the edit on disk');
  await shot('ui-review-4-applied.png');
};
