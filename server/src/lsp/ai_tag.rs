//! LSP 3.18 code action tags, added at the edge.
//!
//! LSP 3.18 lets a server mark code actions as AI-generated (`tags: [1]`,
//! `CodeActionTag.LLMGenerated`) when the client announces
//! `textDocument.codeAction.tagSupport`. `ls-types` models neither the
//! capability nor the field, so this tower layer reads the raw `initialize`
//! params and adds the tag to our actions in raw `codeAction` and
//! `codeAction/resolve` responses. Nothing else in the server needs to know.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::Value;
use tower::Service;
use tower_lsp_server::jsonrpc::{Request, Response};

use super::ext;

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
        let post_process = matches!(method, "textDocument/codeAction" | "codeAction/resolve")
            && self.supported.load(Ordering::Relaxed);
        let future = self.inner.call(request);
        if !post_process {
            return future.boxed();
        }
        future
            .map(|result| {
                result.map(|response| {
                    response.map(|response| {
                        let (id, body) = response.into_parts();
                        let body = body.map(|mut value| {
                            tag_actions(&mut value);
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
