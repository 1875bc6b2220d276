//! `fake-responses --port 0 --script scenario.json`: the fake Responses API
//! server as a process, for editor tests written in other languages. Binds
//! 127.0.0.1 only, prints its base URL as the first stdout line, then serves
//! until killed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use codex_lsp_tests::{FakeResponses, Script};

const USAGE: &str = "usage: fake-responses [--port N] [--script scenario.json]\n\
Serves a fake OpenAI Responses API on 127.0.0.1 and prints its base URL\n\
(http://127.0.0.1:PORT/v1) as the first line of stdout. See tests/README.md.";

fn parse_args() -> Result<Option<(u16, Option<PathBuf>)>, String> {
    use lexopt::prelude::*;
    let mut port = 0u16;
    let mut script = None;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("port") | Short('p') => {
                port = parser
                    .value()
                    .map_err(|e| e.to_string())?
                    .parse()
                    .map_err(|e: lexopt::Error| e.to_string())?;
            }
            Long("script") | Short('s') => {
                script = Some(PathBuf::from(parser.value().map_err(|e| e.to_string())?));
            }
            Long("help") | Short('h') => return Ok(None),
            other => return Err(other.unexpected().to_string()),
        }
    }
    Ok(Some((port, script)))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let (port, script_path) = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            eprintln!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("fake-responses: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let script = match script_path {
        Some(path) => match Script::load(&path) {
            Ok(script) => script,
            Err(e) => {
                eprintln!("fake-responses: bad script: {e}");
                return ExitCode::from(2);
            }
        },
        None => Script::default(),
    };
    let server = match FakeResponses::try_start(port, script).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("fake-responses: cannot bind 127.0.0.1:{port}: {e}");
            return ExitCode::from(1);
        }
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{}", server.base_url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::from(1);
    }
    drop(stdout);
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
