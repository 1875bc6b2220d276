// The `codex/status` notification and how the status bar shows it. Pure.

export interface Usage {
  inputTokens?: number;
  cachedTokens?: number;
  outputTokens?: number;
  reasoningTokens?: number;
  /** The call's cost in US dollars; absent when the model has no known price. */
  costUsd?: number;
  model?: string;
  /** The server's words: "$0.0042, 1,024 of 1,200 input tokens cached, 80 output tokens". */
  summary?: string;
}

/** What the session's model calls cost so far (docs/protocol.md, `codex/status`). */
export interface SessionUsage {
  requests?: number;
  costUsd?: number;
  unpricedRequests?: number;
  /** "$0.0123 in 3 requests". */
  summary?: string;
}

export interface StatusParams {
  state: 'running' | 'idle';
  title?: string;
  progressToken?: string | number;
  message?: string;
  usage?: Usage;
  session?: SessionUsage;
}

export interface StatusView {
  text: string;
  tooltip: string;
  /** Whether clicking should cancel the call. */
  cancellable: boolean;
}

function fmt(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '?';
  if (n >= 10_000) return `${(n / 1000).toFixed(1)}k`;
  return String(n);
}

export function usageText(usage: Usage): string {
  return `in ${fmt(usage.inputTokens)} (cached ${fmt(usage.cachedTokens)}) · out ${fmt(usage.outputTokens)}`;
}

/** "$0.0042": two significant digits below a dollar, never "$0.0000" (as the server writes amounts). */
export function money(usd: number): string {
  if (!Number.isFinite(usd) || usd <= 0) return '$0.00';
  if (usd < 0.000001) return '<$0.000001';
  const decimals = Math.min(7, Math.max(2, 1 - Math.floor(Math.log10(usd))));
  return `$${usd.toFixed(decimals)}`;
}

export class StatusModel {
  /** Running calls by progress token (as string). */
  readonly running = new Map<string, string>();
  /** Token usage of the last call that ended, if it reported any. */
  lastUsage: Usage | undefined;
  lastMessage: string | undefined;
  /** The session total, from the latest `codex/status` that carried one. */
  session: SessionUsage | undefined;

  /** The latest `$/progress` message of each running call, by progress token. */
  readonly progress = new Map<string, string>();

  apply(p: StatusParams): void {
    if (p.session) this.session = p.session;
    if (p.state === 'running') {
      if (p.progressToken !== undefined) this.running.set(String(p.progressToken), p.title ?? 'Codex');
    } else {
      if (p.progressToken !== undefined) {
        this.running.delete(String(p.progressToken));
        this.progress.delete(String(p.progressToken));
      } else {
        this.running.clear();
        this.progress.clear();
      }
      if (p.message !== undefined) this.lastMessage = p.message;
      // The usage of this call, or none (a failed or cancelled call has none): never an earlier call's.
      this.lastUsage = p.usage;
    }
  }

  /** A `$/progress` message of a running call ("waiting for the model", ...). */
  report(token: string, message: string): void {
    if (this.running.has(token)) this.progress.set(token, message);
  }

  /** Token of the most recently started running call. */
  latestToken(): string | undefined {
    let last: string | undefined;
    for (const k of this.running.keys()) last = k;
    return last;
  }

  /** " This session: $0.0123 in 3 requests." or nothing before the first answer. */
  private sessionText(): string {
    const s = this.session;
    if (!s || !s.requests) return '';
    return ` This session: ${s.summary ?? `${s.requests} requests`}.`;
  }

  view(): StatusView {
    if (this.running.size > 0) {
      const titles = [...this.running.values()];
      const title = titles[titles.length - 1] ?? 'Codex';
      const more = this.running.size > 1 ? ` (+${this.running.size - 1})` : '';
      const token = this.latestToken();
      const detail = (token !== undefined && this.progress.get(token)) || 'model call running';
      return { text: `$(sync~spin) ${title}${more}`, tooltip: `${title}: ${detail}. Click to cancel.`, cancellable: true };
    }
    const session = this.sessionText();
    if (this.lastUsage) {
      const u = this.lastUsage;
      const reasoning = u.reasoningTokens !== undefined ? `, reasoning ${u.reasoningTokens}` : '';
      const model = u.model ? ` with ${u.model}` : '';
      const cost = u.costUsd !== undefined ? `${money(u.costUsd)}, ` : '';
      const sessionCost = this.session?.costUsd !== undefined && this.session.costUsd > 0 ? ` · session ${money(this.session.costUsd)}` : '';
      return {
        text: u.costUsd !== undefined ? `$(sparkle) Codex ${money(u.costUsd)}${sessionCost}` : `$(sparkle) Codex ${usageText(u)}`,
        tooltip: `Last Codex call${model}${this.lastMessage ? ` (${this.lastMessage})` : ''}: ${cost}input ${u.inputTokens ?? '?'} tokens, cached ${u.cachedTokens ?? '?'}, output ${u.outputTokens ?? '?'}${reasoning}.${session}`,
        cancellable: false,
      };
    }
    return { text: '$(sparkle) Codex', tooltip: `${this.lastMessage ? `Codex: ${this.lastMessage}` : 'Codex: idle'}${session ? `.${session}` : ''}`, cancellable: false };
  }
}
