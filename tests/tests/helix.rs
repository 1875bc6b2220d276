//! codex-lsp as Helix meets it (issue 14), through the harness's Helix
//! flavour: a picked code action is resolved synchronously, and the
//! server's own requests wait until the resolve returns; Helix gives up
//! after 20 s and never cancels.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use codex_lsp_tests::harness::{TestServer, range};

const UTIL: &str = "def add(a, b):\n    return a+b\n";
const PATCH: &str = "*** Begin Patch\n*** Update File: util.py\n@@\n def add(a, b):\n-    return a+b\n+    return a + b\n*** End Patch\n";

/// Helix's request timeout (`helix-lsp`, `timeout = 20` s by default).
const HELIX_TIMEOUT: Duration = Duration::from_secs(20);

// Defect 1: resolving a picked action never waits on a request the client
// can only answer after the resolve (the progress token's creation).
#[tokio::test]
async fn resolving_an_action_in_helix_does_not_wait_on_helix() {
    let mut h = TestServer::builder()
        .helix()
        .file_as("util.py", "python", UTIL)
        .reply(PATCH)
        .start()
        .await;
    let simplify = h.action(range(1, 11, 1, 12), "Codex: Simplify").await;
    assert!(simplify.get("data").is_some(), "{simplify}");
    let (_, pending) = h.send_request("codeAction/resolve", simplify);
    let resolved = tokio::time::timeout(HELIX_TIMEOUT, pending)
        .await
        .expect("the resolve answered before Helix gives up")
        .unwrap();
    let edit = &resolved["result"]["edit"];
    assert!(edit.get("documentChanges").is_some(), "{resolved}");
    assert_eq!(h.model_requests().len(), 1);
    // Helix answers the token's creation only now, after the job ended:
    // no progress follows the answer (issue 13, defect 29), the outcome is
    // in the `codex/status` idle notification.
    h.barrier().await;
    let progress = h.notifications("$/progress");
    assert!(progress.is_empty(), "{progress:?}");
    let idle = h.notifications("codex/status").pop().unwrap();
    assert_eq!(idle["params"]["state"], "idle", "{idle}");
}
