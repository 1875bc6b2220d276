//! LSP 3.18 code action tags and command tooltips, added at the edge.
//!
//! LSP 3.18 lets a server mark code actions as AI-generated (`tags: [1]`,
//! `CodeActionTag.LLMGenerated`) when the client announces
//! `textDocument.codeAction.tagSupport`, and give a command a `tooltip`.
//! `ls-types` models neither the capability nor the fields, so this tower
//! layer reads the raw `initialize` params and adds the tag to our actions
//! in raw `codeAction` and `codeAction/resolve` responses; and the listing
//! hands a command's tooltip over in the action's `data`, under
//! [`TOOLTIP_MARKER`], which this layer moves onto the command (the
//! marker never reaches the client).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::Value;
use tower::Service;
use tower_lsp_server::jsonrpc::{Request, Response};

use super::ext;

/// The key of `data` that holds a listed command's tooltip on its way to
/// this layer.
pub(crate) const TOOLTIP_MARKER: &str = "codex/tooltip";

/// Moves every tooltip the listing left in `data` onto the action's
/// command (or drops it, when the action has none).
pub(crate) fn move_tooltips(result: &mut Value) {
    let Value::Array(items) = result else {
        return;
    };
    for action in items {
        let Some(obj) = action.as_object_mut() else {
            continue;
        };
        let tip = match obj.get_mut("data") {
            Some(Value::Object(data)) if data.len() == 1 => data.remove(TOOLTIP_MARKER),
            _ => None,
        };
        let Some(tip) = tip else {
            continue;
        };
        obj.remove("data");
        if let Some(Value::Object(command)) = obj.get_mut("command") {
            command.insert("tooltip".to_owned(), tip);
        }
    }
}

/// `CodeActionTag.LLMGenerated` in LSP 3.18.
pub(crate) const LLM_GENERATED: u32 = 1;

/// Whether the raw `initialize` params announce support for the
/// `LLMGenerated` code action tag.
pub(crate) fn client_supports_llm_tag(initialize_params: &Value) -> bool {
    initialize_params
        .pointer("/capabilities/textDocument/codeAction/tagSupport/valueSet")
        .and_then(Value::as_array)
        .is_some_and(|set| {
            set.iter()
                .any(|v| v.as_u64() == Some(u64::from(LLM_GENERATED)))
        })
}

/// Adds the tag to every Codex action in a `codeAction` or
/// `codeAction/resolve` result.
pub(crate) fn tag_actions(result: &mut Value) {
    match result {
        Value::Array(items) => items.iter_mut().for_each(tag_one),
        Value::Object(_) => tag_one(result),
        _ => {}
    }
}

fn tag_one(action: &mut Value) {
    let ours = action
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(ext::is_codex_kind);
    if let (true, Some(obj)) = (ours, action.as_object_mut()) {
        obj.insert("tags".to_owned(), Value::from(vec![LLM_GENERATED]));
    }
}

/// The tower service wrapper that implements the above.
#[derive(Debug, Clone)]
pub(crate) struct AiTagService<S> {
    inner: S,
    supported: Arc<AtomicBool>,
}

impl<S> AiTagService<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            supported: Arc::default(),
        }
    }
}

impl<S> Service<Request> for AiTagService<S>
where
    S: Service<Request, Response = Option<Response>>,
    S::Future: Send + 'static,
{
    type Response = Option<Response>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let method = request.method();
        if method == "initialize" {
            let supported = request.params().is_some_and(client_supports_llm_tag);
            self.supported.store(supported, Ordering::Relaxed);
        }
        let listing = method == "textDocument/codeAction";
        let tag = matches!(method, "textDocument/codeAction" | "codeAction/resolve")
            && self.supported.load(Ordering::Relaxed);
        let future = self.inner.call(request);
        if !(tag || listing) {
            return future.boxed();
        }
        future
            .map(move |result| {
                result.map(|response| {
                    response.map(|response| {
                        let (id, body) = response.into_parts();
                        let body = body.map(|mut value| {
                            if listing {
                                move_tooltips(&mut value);
                            }
                            if tag {
                                tag_actions(&mut value);
                            }
                            value
                        });
                        Response::from_parts(id, body)
                    })
                })
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detects_capability() {
        let yes = json!({"capabilities": {"textDocument": {"codeAction": {"tagSupport": {"valueSet": [1]}}}}});
        let no = json!({"capabilities": {"textDocument": {"codeAction": {}}}});
        assert!(client_supports_llm_tag(&yes));
        assert!(!client_supports_llm_tag(&no));
    }

    #[test]
    fn tooltips_move_from_data_onto_the_command() {
        let mut result = json!([
            {"title": "a", "command": {"title": "a", "command": "x"}, "data": {TOOLTIP_MARKER: "tip"}},
            {"title": "b", "data": {"action": "simplify"}},
            {"title": "c", "data": {TOOLTIP_MARKER: "tip"}},
            {"title": "d", "command": "x"},
        ]);
        move_tooltips(&mut result);
        assert_eq!(
            result,
            json!([
                {"title": "a", "command": {"title": "a", "command": "x", "tooltip": "tip"}},
                {"title": "b", "data": {"action": "simplify"}},
                {"title": "c"},
                {"title": "d", "command": "x"},
            ])
        );
    }

    #[test]
    fn tags_only_codex_actions() {
        let mut result = json!([
            {"title": "a", "kind": "refactor.rewrite.codex.simplify"},
            {"title": "b", "kind": "quickfix.codex"},
            {"title": "c", "kind": "quickfix"},
        ]);
        tag_actions(&mut result);
        assert_eq!(result[0]["tags"], json!([1]));
        assert_eq!(result[1]["tags"], json!([1]));
        assert!(result[2].get("tags").is_none());
    }
}
