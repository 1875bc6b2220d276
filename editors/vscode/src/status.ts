// The `codex/status` notification and how the status bar shows it. Pure.

export interface Usage {
  inputTokens?: number;
  cachedTokens?: number;
  outputTokens?: number;
  reasoningTokens?: number;
}

export interface StatusParams {
  state: 'running' | 'idle';
  title?: string;
  progressToken?: string | number;
  message?: string;
  usage?: Usage;
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

export class StatusModel {
  /** Running calls by progress token (as string). */
  readonly running = new Map<string, string>();
  /** Token usage of the last call that ended, if it reported any. */
  lastUsage: Usage | undefined;
  lastMessage: string | undefined;

  /** The latest `$/progress` message of each running call, by progress token. */
  readonly progress = new Map<string, string>();

  apply(p: StatusParams): void {
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

  view(): StatusView {
    if (this.running.size > 0) {
      const titles = [...this.running.values()];
      const title = titles[titles.length - 1] ?? 'Codex';
      const more = this.running.size > 1 ? ` (+${this.running.size - 1})` : '';
      const token = this.latestToken();
      const detail = (token !== undefined && this.progress.get(token)) || 'model call running';
      return { text: `$(sync~spin) ${title}${more}`, tooltip: `${title}: ${detail}. Click to cancel.`, cancellable: true };
    }
    if (this.lastUsage) {
      const u = this.lastUsage;
      const reasoning = u.reasoningTokens !== undefined ? `, reasoning ${u.reasoningTokens}` : '';
      return {
        text: `$(sparkle) Codex ${usageText(u)}`,
        tooltip: `Last Codex call${this.lastMessage ? ` (${this.lastMessage})` : ''}: input ${u.inputTokens ?? '?'} tokens, cached ${u.cachedTokens ?? '?'}, output ${u.outputTokens ?? '?'}${reasoning}.`,
        cancellable: false,
      };
    }
    return { text: '$(sparkle) Codex', tooltip: this.lastMessage ? `Codex: ${this.lastMessage}` : 'Codex: idle', cancellable: false };
  }
}
