//! Edge defects of issue 13 (hover, explain, actions, progress, transport)
//! end to end: the real binary over stdio against the fake Responses
//! server. Each test names the defect it pins down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codex_lsp_tests::harness::{TestServer, TestServerBuilder, hover_text, range};
use codex_lsp_tests::{Rule, Script};
use serde_json::{Value, json};

const EXPLANATION: &str = "**Computes the area of a circle.**";

/// A module with five import lines and one function.
const IMPORTS: &str = "import os\nimport sys\nimport json\nimport re\nimport math\n\n\ndef area(r):\n    return math.pi * r * r\n";

/// The editor of these tests: Markdown hovers, documents shown with
/// `window/showDocument`, no work-done progress.
fn editor() -> TestServerBuilder {
    TestServer::builder().no_progress()
}

// Defect 13: in the default hover mode (`auto`) a hover outside every
// definition (module-level lines) never calls the model; hovering a
// definition still does, and the explain command explains any line on
// request.
#[tokio::test]
async fn hovers_outside_definitions_never_call_the_model() {
    let mut h = editor()
        .file_as("app.py", "python", IMPORTS)
        .reply(EXPLANATION)
        .start()
        .await;
    for line in 0..5 {
        let response = h.hover(line, 3).await;
        assert_eq!(response["result"], Value::Null, "line {line}: {response}");
    }
    assert_eq!(
        h.model_requests().len(),
        0,
        "a hover on an import line called the model"
    );
    // A definition is explained on hover.
    assert_eq!(hover_text(&h.hover(8, 10).await), EXPLANATION);
    assert_eq!(h.model_requests().len(), 1);
    // The user can still ask for an import line (the explain command, as
    // the "Explain this code" action runs it).
    let uri = h.uri();
    let response = h.explain(&uri, range(0, 3, 0, 3)).await;
    assert_eq!(response["result"]["markdown"], EXPLANATION, "{response}");
    assert_eq!(h.model_requests().len(), 2);
    assert_eq!(h.shown_documents().len(), 1);
    // Now cached, the explanation of that line also shows on hover.
    assert_eq!(hover_text(&h.hover(0, 3).await), EXPLANATION);
    assert_eq!(h.model_requests().len(), 2);
}
