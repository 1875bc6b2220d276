//! The `codex-lsp` binary: parses the command line, sets up logging (stderr
//! or a file; stdout is reserved for JSON-RPC) and serves LSP on stdio.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

const HELP: &str = "\
codex-lsp: a language server for OpenAI Codex models (Responses API)

USAGE:
    codex-lsp [OPTIONS]

Speaks the Language Server Protocol on stdin/stdout. Editors start it; you do
not normally run it by hand.

OPTIONS:
    --log-file PATH           Write logs to PATH instead of stderr
    --print-default-settings  Print the default settings as JSON and exit
    --version                 Print the version and exit
    --help                    Print this help and exit

ENVIRONMENT:
    CODEX_LSP_LOG     Log filter (tracing EnvFilter syntax), default `warn`
    OPENAI_API_KEY    API key (the variable's name is the setting `apiKeyEnv`)
";

enum Command {
    Serve { log_file: Option<PathBuf> },
    Print(String),
}

fn parse_args() -> Result<Command, lexopt::Error> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut log_file = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("version") | Short('V') => {
                return Ok(Command::Print(format!(
                    "codex-lsp {}\n",
                    env!("CARGO_PKG_VERSION")
                )));
            }
            Long("help") | Short('h') => return Ok(Command::Print(HELP.to_owned())),
            Long("print-default-settings") => {
                let json = serde_json::to_string_pretty(&codex_lsp::config::Settings::default())
                    .unwrap_or_default();
                return Ok(Command::Print(json + "\n"));
            }
            Long("log-file") => log_file = Some(PathBuf::from(parser.value()?)),
            // Many clients pass --stdio; stdio is the only transport.
            Long("stdio") => {}
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Command::Serve { log_file })
}

fn init_logging(log_file: Option<PathBuf>) -> Result<(), String> {
    let filter =
        EnvFilter::try_from_env("CODEX_LSP_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    match log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
            builder.with_writer(std::sync::Mutex::new(file)).init();
        }
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}

fn main() -> ExitCode {
    let command = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "codex-lsp: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    let log_file = match command {
        Command::Print(text) => {
            // Not serving: stdout is ours to print on.
            let _ = std::io::stdout().write_all(text.as_bytes());
            return ExitCode::SUCCESS;
        }
        Command::Serve { log_file } => log_file,
    };
    if let Err(e) = init_logging(log_file) {
        let _ = writeln!(std::io::stderr(), "codex-lsp: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(%e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(codex_lsp::run(
        tokio::io::stdin(),
        tokio::io::stdout(),
        codex_lsp::ServerOptions::default(),
    ));
    // The stdin reader may still wait in a blocking read (clients need not
    // close stdin after `exit`): do not wait for it.
    runtime.shutdown_background();
    // LSP: 0 when `exit` followed `shutdown`, 1 otherwise.
    ExitCode::from(code)
}
