//! What actions cost, end to end (issue 16, items 3 and 5): the progress end
//! and `codex/status` carry the action's cost from the price table (or
//! tokens only for a model without a price), `codex/status` a running
//! session total, the `prices` setting overrides and adds models; listed
//! actions say up front what the server knows (command `tooltip`) or, where
//! the client supports `disabledSupport`, why they cannot run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codex_lsp_tests::harness::{TestServer, TestServerBuilder, range};
use serde_json::{Value, json};

const SOURCE: &str = "fn add(a: i32, b: i32) -> i32 {\n    a+b\n}\n";

const SPACING_PATCH: &str = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n fn add(a: i32, b: i32) -> i32 {\n-    a+b\n+    a + b\n }\n*** End Patch\n";

fn editor() -> TestServerBuilder {
    TestServer::builder()
        .setting("requestTimeoutMs", 20000)
        .file("src/lib.rs", SOURCE)
        .reply(SPACING_PATCH)
}

/// The cost of `usage` (a `codex/status` usage object) at these prices per
/// 1M tokens, computed here from the token counts the server reported.
fn cost(usage: &Value, input: f64, cached: f64, output: f64) -> f64 {
    let n = |k: &str| usage[k].as_u64().unwrap() as f64;
    ((n("inputTokens") - n("cachedTokens")) * input
        + n("cachedTokens") * cached
        + n("outputTokens") * output)
        / 1e6
}

/// Runs simplify and returns (the progress end message, the `idle` status params).
async fn simplify(h: &mut TestServer) -> (String, Value) {
    let response = h.run_action("simplify", range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    assert!(!h.applied_edits().is_empty());
    let end = h.notifications("$/progress").pop().unwrap();
    assert_eq!(end["params"]["value"]["kind"], "end", "{end}");
    let idle = h.notifications("codex/status").pop().unwrap();
    assert_eq!(idle["params"]["state"], "idle", "{idle}");
    (
        end["params"]["value"]["message"]
            .as_str()
            .unwrap()
            .to_owned(),
        idle["params"].clone(),
    )
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[tokio::test]
async fn a_known_model_reports_the_cost_and_the_session_adds_up() {
    let mut h = editor().start().await;
    let (end, idle) = simplify(&mut h).await;
    let usage = &idle["usage"];
    assert_eq!(usage["model"], "gpt-5.3-codex", "{idle}");
    let want = cost(usage, 2.00, 0.20, 15.00);
    let got = usage["costUsd"].as_f64().unwrap();
    assert!(close(got, want), "{got} vs {want}: {idle}");
    let summary = usage["summary"].as_str().unwrap();
    assert!(summary.starts_with("$0.0"), "{summary}");
    assert!(
        summary.contains(&format!(
            "of {} input tokens cached",
            group(usage["inputTokens"].as_u64().unwrap())
        )),
        "{summary}"
    );
    assert_eq!(end, format!("edit ready ({summary})"));
    assert_eq!(idle["session"]["requests"], 1, "{idle}");
    assert!(close(idle["session"]["costUsd"].as_f64().unwrap(), got));

    // The second action adds to the session total.
    let (_, second) = simplify(&mut h).await;
    let both = got + second["usage"]["costUsd"].as_f64().unwrap();
    assert_eq!(second["session"]["requests"], 2, "{second}");
    assert!(close(second["session"]["costUsd"].as_f64().unwrap(), both));
    assert!(
        second["session"]["summary"]
            .as_str()
            .unwrap()
            .ends_with("in 2 requests"),
        "{second}"
    );
}

#[tokio::test]
async fn an_unknown_model_shows_tokens_only() {
    let mut h = editor().setting("model", "local-coder").start().await;
    let (end, idle) = simplify(&mut h).await;
    let usage = &idle["usage"];
    assert!(usage.get("costUsd").is_none(), "{idle}");
    assert!(!end.contains('$'), "{end}");
    assert!(end.contains("input tokens cached"), "{end}");
    assert!(
        idle["session"]["summary"]
            .as_str()
            .unwrap()
            .contains("no price known"),
        "{idle}"
    );
}

#[tokio::test]
async fn the_prices_setting_prices_another_model_and_overrides_a_known_one() {
    let prices = json!({
        "local-coder": {"input": 0.5, "cachedInput": 0.25, "output": 1.0},
        "gpt-5.3-codex": {"input": 10, "output": 100}
    });
    let mut h = editor()
        .setting("model", "local-coder")
        .setting("prices", prices.clone())
        .start()
        .await;
    let (_, idle) = simplify(&mut h).await;
    let want = cost(&idle["usage"], 0.5, 0.25, 1.0);
    assert!(
        close(idle["usage"]["costUsd"].as_f64().unwrap(), want),
        "{idle}"
    );

    let mut h = editor().setting("prices", prices).start().await;
    let (_, idle) = simplify(&mut h).await;
    // Cached input at one tenth of input when the setting gives none.
    let want = cost(&idle["usage"], 10.0, 1.0, 100.0);
    assert!(
        close(idle["usage"]["costUsd"].as_f64().unwrap(), want),
        "{idle}"
    );
}

#[tokio::test]
async fn listed_commands_say_the_model_and_its_price() {
    let mut h = editor()
        .setting("model", "gpt-5.2-codex-2026-01-14")
        .start()
        .await;
    let actions = h.list_actions(range(1, 4, 1, 4)).await;
    let simplify = actions
        .iter()
        .find(|a| a["title"] == "Codex: Simplify")
        .unwrap();
    assert_eq!(
        simplify["command"]["tooltip"],
        "gpt-5.2-codex-2026-01-14, reasoning effort low; $1.75 / $14.00 per 1M input / output tokens (cached input $0.175)"
    );
    assert!(simplify.get("data").is_none(), "{simplify}");
    assert!(h.model_requests().is_empty());
}

const DISABLED: &str = "/textDocument/codeAction/disabledSupport";

fn titles_and_reasons(actions: &[Value]) -> Vec<(String, String)> {
    actions
        .iter()
        .map(|a| {
            assert!(a.get("command").is_none() && a.get("data").is_none(), "{a}");
            (
                a["title"].as_str().unwrap().to_owned(),
                a["disabled"]["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn without_a_key_actions_are_listed_disabled_with_the_reason() {
    let mut h = editor()
        .no_api_key()
        .client_name("Neovim")
        .capability(DISABLED, json!(true))
        .start()
        .await;
    let actions = h.list_actions(range(1, 4, 1, 4)).await;
    let listed = titles_and_reasons(&actions);
    assert!(listed.len() >= 5, "{listed:?}");
    for (title, reason) in &listed {
        assert_eq!(
            reason, "Codex: set OPENAI_API_KEY (see :help codex)",
            "{title}"
        );
    }
    // VS Code's users set the key with its command.
    let mut h = editor()
        .no_api_key()
        .client_name("Visual Studio Code")
        .capability(DISABLED, json!(true))
        .start()
        .await;
    let listed = titles_and_reasons(&h.list_actions(range(1, 4, 1, 4)).await);
    assert!(
        listed
            .iter()
            .all(|(_, r)| r == "Codex: no API key; run \"Codex: Set API Key\""),
        "{listed:?}"
    );
    // A client without disabledSupport sees nothing.
    let mut h = editor().no_api_key().start().await;
    assert_eq!(h.list_actions(range(1, 4, 1, 4)).await, Vec::<Value>::new());
    // With `provider: none` no key is needed.
    let mut h = editor()
        .no_api_key()
        .setting("provider", "none")
        .capability(DISABLED, json!(true))
        .start()
        .await;
    let actions = h.list_actions(range(1, 4, 1, 4)).await;
    assert!(
        !actions.is_empty() && actions.iter().all(|a| a.get("disabled").is_none()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn an_excluded_file_lists_its_actions_disabled_where_the_client_supports_it() {
    let mut h = editor()
        .file_as("secrets.pem", "rust", SOURCE)
        .capability(DISABLED, json!(true))
        .start()
        .await;
    let uri = h.uri_of("secrets.pem");
    let context = json!({"diagnostics": []});
    let listed = titles_and_reasons(
        &h.list_actions_in(&uri, range(1, 4, 1, 4), context.clone())
            .await,
    );
    assert!(!listed.is_empty());
    assert!(
        listed
            .iter()
            .all(|(_, r)| r == "Codex: this file is excluded by `exclude`"),
        "{listed:?}"
    );
    // The other file is fine.
    let main = h.uri();
    let actions = h
        .list_actions_in(&main, range(1, 4, 1, 4), context.clone())
        .await;
    assert!(
        actions.iter().all(|a| a.get("disabled").is_none()),
        "{actions:?}"
    );

    let mut h = editor()
        .file_as("secrets.pem", "rust", SOURCE)
        .start()
        .await;
    let uri = h.uri_of("secrets.pem");
    assert_eq!(
        h.list_actions_in(&uri, range(1, 4, 1, 4), context).await,
        Vec::<Value>::new()
    );
}

/// `1,024`.
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
