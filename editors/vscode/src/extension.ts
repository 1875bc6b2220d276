// Thin VS Code client for codex-lsp. All Codex logic lives in the server; this file starts it,
// hands it the API key through its environment, forwards settings and adds a few UI affordances.
import { spawn, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import {
  CancellationToken,
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  HoverRequest,
  LanguageClient,
  MessageType,
  ResponseError,
  ShowMessageNotification,
  State,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateRequest,
  type LanguageClientOptions,
  type ServerCapabilities,
  type ServerOptions,
  type ShowMessageParams,
  type StaticFeature,
} from 'vscode-languageclient/node';
import { isExplanationView, isMissingKeyMessage, missingKeyMessage } from './messages';
import { locateServer, SERVER_PATH_SETTING } from './serverPath';
import { apiKeyEnvName, serverSettings } from './settings';
import { StatusModel, type StatusParams } from './status';

const SECRET_KEY = 'codex.apiKey';
const RUN_ACTION = 'codex.runAction';
const SET_KEY_BUTTON = 'Set API Key';
/** Code action kinds of the server's actions behind the extension's commands (docs/protocol.md). */
const KIND = { rewrite: 'refactor.rewrite.codex.rewrite', explain: 'refactor.codex.explain', fix: 'quickfix.codex' };
/** The documents the server is given (and hovers). */
const SCHEMES = ['file', 'untitled'];
/** How long an instruction given to "Codex: Rewrite Selection…" waits for its rewrite to run. */
const GIVEN_INSTRUCTION_MS = 10000;
/** How long a stopped server may take to exit before it is killed. */
const EXIT_GRACE_MS = 2000;

/** What `activate` returns; used by the integration tests and by other extensions. */
export interface CodexApi {
  /** The running language client, if any. */
  readonly client: LanguageClient | undefined;
  /** Where the running server binary came from. */
  readonly serverSource: string | undefined;
  /** The path of the running server binary. */
  readonly serverPath: string | undefined;
  /** Resolves once the current (re)start attempt has finished. */
  ready(): Promise<void>;
  /** Warnings and errors shown to the user, most recent last (never contains the key). */
  readonly messages: readonly string[];
  readonly status: StatusModel;
}

class Codex implements CodexApi {
  client: LanguageClient | undefined;
  serverSource: string | undefined;
  serverPath: string | undefined;
  readonly messages: string[] = [];
  readonly status = new StatusModel();
  private readonly output: vscode.OutputChannel;
  private readonly statusItem: vscode.StatusBarItem;
  private starting: Promise<void> = Promise.resolve();
  /** The key the running server was started with (memory only, never logged). */
  private startedWithKey: string | undefined;
  /** The running server has no API key (and its provider needs one): its actions are listed disabled. */
  private keyless = false;
  private promptedForKey = false;
  /** An instruction passed to codex.rewriteSelection, for the rewrite that command triggers. */
  private given: { instruction: string; uri: string; until: number } | undefined;
  /** The server process of the current client (the extension spawns it, so a stop it asked for is no error). */
  private serverProcess: ChildProcess | undefined;
  /** Server processes being stopped on purpose: their exit is logged as a note, not an error. */
  private readonly stopping = new WeakSet<ChildProcess>();

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('Codex');
    this.statusItem = vscode.window.createStatusBarItem('codex.status', vscode.StatusBarAlignment.Right, 100);
    this.statusItem.name = 'Codex';
    context.subscriptions.push(this.output, this.statusItem);
    this.renderStatus();
    this.statusItem.show();
  }

  ready(): Promise<void> {
    return this.starting;
  }

  private note(kind: 'warning' | 'error' | 'info', message: string): void {
    this.messages.push(message);
    this.output.appendLine(`[client ${kind}] ${message}`);
  }

  private renderStatus(): void {
    const view = this.status.view();
    this.statusItem.text = view.text;
    this.statusItem.tooltip = view.tooltip;
    this.statusItem.command = view.cancellable ? 'codex.cancel' : 'codex.showLog';
    void vscode.commands.executeCommand('setContext', 'codex.running', view.cancellable);
  }

  /** Serialised (re)start: stops the current client, then starts a fresh one. */
  restart(): Promise<void> {
    return this.enqueue(() => this.doRestart());
  }

  /** Runs start/stop work one after the other. */
  private enqueue(work: () => Promise<void>): Promise<void> {
    this.starting = this.starting.then(work).catch((e: unknown) => {
      const msg = `Codex: the server failed to start: ${e instanceof Error ? e.message : String(e)}`;
      this.note('error', msg);
      void vscode.window.showErrorMessage(msg, 'Show Log').then((b) => b && this.output.show(true));
    });
    return this.starting;
  }

  /**
   * Stops the client cleanly (LSP shutdown and exit) and waits for the server process to end (killing
   * it after EXIT_GRACE_MS), so a restart we asked for is not reported as a server failure.
   */
  async stop(): Promise<void> {
    const old = this.client;
    const proc = this.serverProcess;
    this.client = undefined;
    this.serverSource = undefined;
    this.serverPath = undefined;
    this.serverProcess = undefined;
    if (proc) this.stopping.add(proc);
    if (old) {
      try {
        if (old.state !== State.Stopped) await old.stop(5000);
      } catch (e) {
        this.output.appendLine(`[client] stopping the server: ${String(e)}`);
      }
      await old.dispose().catch(() => undefined);
    }
    if (proc) await waitForExit(proc, EXIT_GRACE_MS);
    this.status.running.clear();
    this.renderStatus();
  }

  /** Starts the server process; vscode-languageclient talks to it over its stdio. */
  private spawnServer(command: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
    return new Promise((resolve, reject) => {
      const proc = spawn(command, [], { env, stdio: 'pipe' });
      proc.once('error', reject);
      proc.once('spawn', () => {
        proc.removeListener('error', reject);
        proc.on('error', (e) => this.output.appendLine(`[client] server process: ${e.message}`));
        this.serverProcess = proc;
        resolve(proc);
      });
      proc.once('exit', (code, signal) => {
        const how = signal ? `signal ${signal}` : `code ${String(code)}`;
        if (this.stopping.has(proc)) this.output.appendLine(`[client] server stopped (${how})`);
        else this.note('error', `Codex: the server exited unexpectedly (${how}); see "Codex: Show Server Log".`);
      });
    });
  }

  private async doRestart(): Promise<void> {
    await this.stop();
    const cfg = vscode.workspace.getConfiguration('codex');
    const location = locateServer({
      configuredPath: cfg.get<string>('server.path'),
      extensionPath: this.context.extensionPath,
      envPath: process.env.PATH,
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    });
    if (!location.ok) {
      this.note('error', location.message);
      void vscode.window.showErrorMessage(location.message, 'Open Settings').then((b) => {
        if (b) void vscode.commands.executeCommand('workbench.action.openSettings', SERVER_PATH_SETTING);
      });
      return;
    }
    const envName = apiKeyEnvName(cfg.get('apiKeyEnv'));
    const secret = await this.context.secrets.get(SECRET_KEY);
    const env: NodeJS.ProcessEnv = { ...process.env };
    this.startedWithKey = secret;
    if (secret) env[envName] = secret;
    this.keyless = !env[envName] && cfg.get<string>('provider') !== 'none';
    if (this.keyless && !this.promptedForKey) {
      this.promptedForKey = true; // once per window, not on every restart
      void this.promptMissingKey(envName);
    }

    this.output.appendLine(`[client] starting ${location.path} (${location.source}); API key ${env[envName] ? `set in ${envName}` : 'not set'}`);
    // The extension spawns the process itself: vscode-languageclient would log every exit, even
    // after the shutdown and exit it sent, as "[Error] Server process exited with code 0".
    const serverOptions: ServerOptions = () => this.spawnServer(location.path, env);
    const clientOptions: LanguageClientOptions = {
      documentSelector: SCHEMES.map((scheme) => ({ scheme })),
      outputChannel: this.output,
      initializationOptions: serverSettings(cfg),
      synchronize: { configurationSection: 'codex' },
      middleware: {
        executeCommand: async (command, args, next) => {
          const first: unknown = args[0];
          // The one place the rewrite instruction is asked for: "Codex: Rewrite…" from the lightbulb
          // and "Codex: Rewrite Selection…" (which runs that same action) both end up here.
          if (command === RUN_ACTION && isRecord(first) && first.action === 'rewrite' && !first.instruction) {
            const instruction = this.takeGivenInstruction(first.textDocument) ?? (await askInstruction());
            if (instruction === undefined) return undefined;
            args = [{ ...first, instruction }, ...args.slice(1)];
          }
          let result: unknown;
          try {
            result = await next(command, args);
          } catch (e) {
            // A call cancelled from the status bar (or by the editor) is not an error to show.
            if (isCancellation(e)) {
              this.note('info', 'Codex: cancelled');
              return { applied: false, message: 'cancelled' };
            }
            throw e;
          }
          // The server shows its own message for an action that applied nothing; keep a note for the log.
          if (command === RUN_ACTION && isRecord(result) && result.applied === false && typeof result.message === 'string' && !isMissingKeyMessage(result.message)) {
            this.note('warning', result.message);
          }
          return result;
        },
        window: {
          // The server shows an explanation as a Markdown file it wrote: show it rendered, beside the code.
          showDocument: async (params, next) => {
            const source = async () => {
              const r = await next(params, CancellationToken.None);
              return r instanceof ResponseError ? { success: false } : r;
            };
            const uri = vscode.Uri.parse(params.uri);
            if (params.external || !isExplanationView(uri.scheme, uri.fsPath)) return source();
            try {
              await vscode.commands.executeCommand('markdown.showPreviewToSide', uri);
              return { success: true };
            } catch (e) {
              this.output.appendLine(`[client] no Markdown preview (${String(e)}); showing the explanation's source`);
              return source();
            }
          },
        },
        workspace: {
          // The server knows nothing of the client-only keys (`codex.server.*`, `codex.trace.*`) and rejects unknown keys.
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) return result;
            return result.map((value: unknown, i) => (params.items[i]?.section === 'codex' ? serverSettings(value) : value));
          },
          didChangeConfiguration: async () => {
            // A restart (server path, key variable) is handled by onDidChangeConfiguration; only a running server hears changes.
            if (this.client !== client || client.state !== State.Running) return;
            try {
              await client.sendNotification(DidChangeConfigurationNotification.type, {
                settings: { codex: serverSettings(vscode.workspace.getConfiguration('codex')) },
              });
            } catch (e) {
              // The same change may have restarted the server meanwhile: the new one gets the settings at start.
              if (this.client === client && client.state === State.Running) throw e;
            }
          },
        },
      },
    };
    const client = new LanguageClient('codex', 'Codex', serverOptions, clientOptions);
    this.client = client;
    this.serverSource = location.source;
    this.serverPath = location.path;
    client.registerFeature(new ExplanationHoverLast(client));
    client.registerFeature(
      new StatusBarProgress(client, (token, message) => {
        this.status.report(token, message);
        this.renderStatus();
      }),
    );
    client.onNotification('codex/status', (p: StatusParams) => {
      this.status.apply(p);
      this.renderStatus();
    });
    // Replaces vscode-languageclient's handler (registered before this one): the same toasts, except
    // the server's missing-key message, written for every editor, which becomes VS Code's, with its button.
    client.onNotification(ShowMessageNotification.type, (p) => this.showServerMessage(p));
    await client.start();
    this.output.appendLine(`[client] server started: ${JSON.stringify(client.initializeResult?.serverInfo ?? {})}`);
  }

  private showServerMessage(p: ShowMessageParams): void {
    if (isMissingKeyMessage(p.message)) {
      void this.offerSetKey(missingKeyMessage(), p.type === MessageType.Error ? 'error' : 'warning');
      return;
    }
    if (p.type === MessageType.Error) void vscode.window.showErrorMessage(p.message);
    else if (p.type === MessageType.Warning) void vscode.window.showWarningMessage(p.message);
    else void vscode.window.showInformationMessage(p.message);
  }

  /** A message whose first button, "Set API Key", runs "Codex: Set API Key". */
  private async offerSetKey(msg: string, kind: 'warning' | 'error'): Promise<void> {
    this.note(kind, msg);
    const choice = await (kind === 'error' ? vscode.window.showErrorMessage(msg, SET_KEY_BUTTON) : vscode.window.showWarningMessage(msg, SET_KEY_BUTTON));
    if (choice === SET_KEY_BUTTON) await vscode.commands.executeCommand('codex.setApiKey');
  }

  private promptMissingKey(envName: string): Promise<void> {
    return this.offerSetKey(`Codex: no API key is set. Codex actions need one; it is kept in VS Code's secret storage and given to the server as ${envName}.`, 'warning');
  }

  async setApiKey(key?: unknown): Promise<void> {
    let value = typeof key === 'string' ? key : undefined;
    if (value === undefined) {
      value = await vscode.window.showInputBox({
        title: 'Codex: Set API Key',
        prompt: 'The key is stored in VS Code secret storage and passed to codex-lsp in its environment.',
        password: true,
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim() ? undefined : 'The key must not be empty'),
      });
    }
    if (!value || !value.trim()) return;
    await this.context.secrets.store(SECRET_KEY, value.trim());
    await this.secretChanged();
  }

  async clearApiKey(): Promise<void> {
    await this.context.secrets.delete(SECRET_KEY);
    await this.secretChanged();
  }

  /** Secret storage changed (maybe from another window): restart if the key differs from the running one. */
  secretChanged(): Promise<void> {
    return this.enqueue(async () => {
      if ((await this.context.secrets.get(SECRET_KEY)) !== this.startedWithKey) await this.doRestart();
    });
  }

  cancel(): void {
    const token = this.status.latestToken();
    if (!token || !this.client) return;
    const numeric = /^\d+$/.test(token) ? Number(token) : token;
    void this.client.sendNotification(WorkDoneProgressCancelNotification.type, { token: numeric });
  }

  showLog(): void {
    this.output.show(true);
  }

  private async runningClient(): Promise<LanguageClient | undefined> {
    await this.starting;
    if (this.client && this.client.state === State.Running) return this.client;
    const msg = 'Codex: the server is not running. Check "Codex: Show Server Log".';
    this.note('error', msg);
    void vscode.window.showErrorMessage(msg);
    return undefined;
  }

  /**
   * Runs the server's code action of `kind` on the selection with VS Code's own code action
   * machinery, as the lightbulb does: resolved or its command executed; a menu when several match.
   * An `instruction` is kept for the rewrite this starts (see middleware.executeCommand).
   */
  private async codeAction(kind: string, instruction?: string): Promise<void> {
    this.given = undefined;
    const editor = vscode.window.activeTextEditor;
    if (!editor || !(await this.runningClient())) return;
    // Without a key the server lists its actions disabled ("run Codex: Set API Key"): offer the button instead of a menu of them.
    if (this.keyless) return this.offerSetKey(missingKeyMessage(), 'warning');
    if (instruction) this.given = { instruction, uri: editor.document.uri.toString(), until: Date.now() + GIVEN_INSTRUCTION_MS };
    await vscode.commands.executeCommand('editor.action.codeAction', { kind, apply: 'ifSingle' });
  }

  /** Codex: Rewrite Selection…: the server's "Codex: Rewrite…" action; an `instruction` spares the prompt. */
  rewriteSelection(instruction?: unknown): Promise<void> {
    return this.codeAction(KIND.rewrite, typeof instruction === 'string' && instruction.trim() ? instruction.trim() : undefined);
  }

  /** The instruction given to rewriteSelection, once, if it is for this document and still fresh. */
  private takeGivenInstruction(textDocument: unknown): string | undefined {
    const given = this.given;
    this.given = undefined;
    const uri = isRecord(textDocument) && typeof textDocument.uri === 'string' ? vscode.Uri.parse(textDocument.uri).toString() : undefined;
    return given && given.uri === uri && Date.now() < given.until ? given.instruction : undefined;
  }

  explainSelection(): Promise<void> {
    return this.codeAction(KIND.explain);
  }

  /**
   * Codex: Refine Last Edit…: asks what to do differently (unless given) and runs the server's
   * `codex.refine` on the active document, which continues its last Codex edit and applies the result.
   */
  async refineLastEdit(instruction?: unknown): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const client = editor && (await this.runningClient());
    if (!editor || !client) return;
    const given = typeof instruction === 'string' && instruction.trim() ? instruction.trim() : undefined;
    const text =
      given ??
      (await vscode.window.showInputBox({
        title: 'Codex: Refine Last Edit',
        prompt: 'What should Codex do differently?',
        placeHolder: 'e.g. keep the old names, use a match instead',
        ignoreFocusOut: true,
      }));
    if (!text?.trim()) return;
    await client.sendRequest(ExecuteCommandRequest.type, {
      command: 'codex.refine',
      arguments: [{ textDocument: { uri: client.code2ProtocolConverter.asUri(editor.document.uri) }, instruction: text.trim() }],
    });
  }

  /** Codex: Fix Diagnostic at Cursor: VS Code sends the diagnostics at the cursor; several give a menu. */
  fixAtCursor(): Promise<void> {
    return this.codeAction(KIND.fix);
  }
}

/**
 * The one progress display is the status bar item, which shows the call's title and progress messages and
 * cancels on click: the server's `window/workDoneProgress/create` is answered here, so vscode-languageclient
 * does not show a second, non-cancellable spinner of its own for the same call. Registered after the
 * built-in progress feature, so this handler is the one in place.
 */
class StatusBarProgress implements StaticFeature {
  constructor(
    private readonly client: LanguageClient,
    private readonly onMessage: (token: string, message: string) => void,
  ) {}
  getState(): { kind: 'static' } {
    return { kind: 'static' };
  }
  fillClientCapabilities(capabilities: { window?: { workDoneProgress?: boolean } }): void {
    capabilities.window = { ...capabilities.window, workDoneProgress: true };
  }
  initialize(): void {
    this.client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
      const listener = this.client.onProgress(WorkDoneProgress.type, token, (value) => {
        if (value.kind === 'end') listener.dispose();
        else if (value.message) this.onMessage(String(token), value.message);
      });
      return null;
    });
  }
  clear(): void {}
}

/**
 * The explanation hover comes after the language's own hover (types, docs) where VS Code merges hovers.
 * VS Code orders hover providers by how well their selector matches, then puts built-in extensions'
 * (TypeScript's) last: with the client's `{ scheme: 'file' }` the explanation sat on top. So the
 * library's hover registration is replaced by one with the weakest selector (`'*'`, scored below any
 * language or scheme match) that asks the server the same `textDocument/hover`, for the client's documents
 * only. Registered after the built-in hover feature, so it runs after that one registered.
 */
class ExplanationHoverLast implements StaticFeature {
  private registration: vscode.Disposable | undefined;
  constructor(private readonly client: LanguageClient) {}
  getState(): { kind: 'static' } {
    return { kind: 'static' };
  }
  fillClientCapabilities(): void {}
  initialize(capabilities: ServerCapabilities): void {
    if (!capabilities.hoverProvider) return;
    this.client.getFeature(HoverRequest.method).clear();
    this.registration?.dispose();
    const client = this.client;
    this.registration = vscode.languages.registerHoverProvider('*', {
      async provideHover(document, position, token) {
        if (!SCHEMES.includes(document.uri.scheme) || client.state !== State.Running) return undefined;
        const params = client.code2ProtocolConverter.asTextDocumentPositionParams(document, position);
        const result = await client.sendRequest(HoverRequest.type, params, token).catch(() => null);
        return result && !token.isCancellationRequested ? client.protocol2CodeConverter.asHover(result) : undefined;
      },
    });
  }
  clear(): void {
    this.registration?.dispose();
    this.registration = undefined;
  }
}

/** Resolves when the process has exited, killing it if it has not after `graceMs`. */
function waitForExit(proc: ChildProcess, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve();
    }, graceMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function isCancellation(e: unknown): boolean {
  if (e instanceof vscode.CancellationError) return true;
  return isRecord(e) && (e.code === -32800 || e.name === 'Canceled' || e.message === 'Canceled');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function askInstruction(): Promise<string | undefined> {
  const value = await vscode.window.showInputBox({
    title: 'Codex: Rewrite',
    prompt: 'How should Codex rewrite the selection?',
    placeHolder: 'e.g. use async/await instead of callbacks',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'Describe the change'),
  });
  return value?.trim() ? value.trim() : undefined;
}

let codex: Codex | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<CodexApi> {
  const c = new Codex(context);
  codex = c;
  const reg = (id: string, fn: (...args: unknown[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  reg('codex.rewriteSelection', (instruction) => c.rewriteSelection(instruction));
  reg('codex.explainSelection', () => c.explainSelection());
  reg('codex.refineLastEdit', (instruction) => c.refineLastEdit(instruction));
  reg('codex.fixAtCursor', () => c.fixAtCursor());
  reg('codex.showLog', () => c.showLog());
  reg('codex.restartServer', () => c.restart());
  reg('codex.setApiKey', (key) => c.setApiKey(key));
  reg('codex.clearApiKey', () => c.clearApiKey());
  reg('codex.cancel', () => c.cancel());
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SERVER_PATH_SETTING) || e.affectsConfiguration('codex.apiKeyEnv')) void c.restart();
    }),
    context.secrets.onDidChange((e) => {
      if (e.key === SECRET_KEY) void c.secretChanged();
    }),
    { dispose: () => void c.stop() },
  );
  void c.restart();
  return c;
}

export async function deactivate(): Promise<void> {
  await codex?.stop();
  codex = undefined;
}
