import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { extDir } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { StatusModel, money } = require(path.join(extDir, 'out', 'status.js'));

test('idle with no call yet', () => {
  const m = new StatusModel();
  assert.equal(m.view().cancellable, false);
  assert.match(m.view().text, /Codex/);
});
test('running shows the title and is cancellable with its token', () => {
  const m = new StatusModel();
  m.apply({ state: 'running', title: 'Codex: Simplify', progressToken: 'codex/3' });
  assert.equal(m.view().cancellable, true);
  assert.match(m.view().text, /sync~spin.*Codex: Simplify/);
  assert.equal(m.latestToken(), 'codex/3');
});
test('idle after a call shows input, cached and output tokens', () => {
  const m = new StatusModel();
  m.apply({ state: 'running', title: 'Codex: Simplify', progressToken: 'codex/3' });
  m.apply({ state: 'idle', progressToken: 'codex/3', message: 'done', usage: { inputTokens: 1200, cachedTokens: 1024, outputTokens: 80, reasoningTokens: 32 } });
  const v = m.view();
  assert.equal(v.cancellable, false);
  assert.equal(m.latestToken(), undefined);
  assert.match(v.text, /in 1200 \(cached 1024\) · out 80/);
  assert.match(v.tooltip, /reasoning 32/);
});
test('idle without a token ends every running call', () => {
  const m = new StatusModel();
  m.apply({ state: 'running', title: 'a', progressToken: 1 });
  m.apply({ state: 'running', title: 'b', progressToken: 2 });
  assert.match(m.view().text, /b \(\+1\)/);
  m.apply({ state: 'idle', message: 'cancelled' });
  assert.equal(m.running.size, 0);
});
test('a failed call after a successful one shows its failure, not the earlier usage', () => {
  const m = new StatusModel();
  m.apply({ state: 'running', title: 'Codex: Simplify', progressToken: 'codex/1' });
  m.apply({ state: 'idle', progressToken: 'codex/1', message: 'edit ready', usage: { inputTokens: 1200, cachedTokens: 0, outputTokens: 80 } });
  m.apply({ state: 'running', title: 'Codex: Rewrite…', progressToken: 'codex/2' });
  m.apply({ state: 'idle', progressToken: 'codex/2', message: 'The model server had an error (HTTP 500): oops' });
  const v = m.view();
  assert.equal(m.lastUsage, undefined);
  assert.doesNotMatch(v.text, /in 1200/);
  assert.doesNotMatch(v.tooltip, /tokens/);
  assert.match(v.tooltip, /HTTP 500/);
});
test('a running call\'s progress message shows in the tooltip, and goes with the call', () => {
  const m = new StatusModel();
  m.report('codex/4', 'ignored: not running');
  m.apply({ state: 'running', title: 'Codex: Rewrite…', progressToken: 'codex/4' });
  m.report('codex/4', 'waiting for the model');
  assert.match(m.view().tooltip, /^Codex: Rewrite…: waiting for the model\. Click to cancel\.$/);
  m.apply({ state: 'idle', progressToken: 'codex/4', message: 'cancelled' });
  assert.equal(m.progress.size, 0);
});
test('idle after a priced call shows its cost and the session total', () => {
  const m = new StatusModel();
  const session = (n, usd) => ({ requests: n, costUsd: usd, summary: `$${usd} in ${n} requests` });
  m.apply({ state: 'running', title: 'Codex: Simplify', progressToken: 'codex/1', session: session(1, 0.0021) });
  m.apply({
    state: 'idle', progressToken: 'codex/1', message: 'edit ready',
    usage: { inputTokens: 1200, cachedTokens: 1024, outputTokens: 80, reasoningTokens: 16, costUsd: 0.0017568, model: 'gpt-5.3-codex' },
    session: session(2, 0.0038568),
  });
  const v = m.view();
  assert.equal(v.text, '$(sparkle) Codex $0.0018 · session $0.0039');
  assert.match(v.tooltip, /^Last Codex call with gpt-5\.3-codex \(edit ready\): \$0\.0018, input 1200 tokens, cached 1024, output 80, reasoning 16\. This session: \$0\.0038568 in 2 requests\.$/);
  // A failure afterwards shows no call's cost, but the session total stays in the tooltip.
  m.apply({ state: 'idle', progressToken: 'codex/2', message: 'cancelled' });
  assert.equal(m.view().text, '$(sparkle) Codex');
  assert.match(m.view().tooltip, /This session: \$0\.0038568 in 2 requests/);
});
test('a call without a known price shows tokens only', () => {
  const m = new StatusModel();
  m.apply({ state: 'idle', progressToken: 'codex/1', message: 'edit ready', usage: { inputTokens: 1200, cachedTokens: 0, outputTokens: 80, model: 'local' } });
  assert.match(m.view().text, /in 1200 \(cached 0\) · out 80/);
  assert.doesNotMatch(m.view().text, /\$\d/);
});
test('money reads like the server writes it, never as zero', () => {
  for (const [usd, want] of [[0, '$0.00'], [0.0042, '$0.0042'], [0.042, '$0.042'], [0.42, '$0.42'], [4.2, '$4.20'], [0.000012, '$0.000012'], [0.0000004, '<$0.000001']]) {
    assert.equal(money(usd), want, String(usd));
  }
});
