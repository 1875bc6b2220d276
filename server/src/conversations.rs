//! The last edit conversation of each document, kept so `codex.refine` can
//! continue it ("not quite, do X instead") instead of starting over: the
//! follow-up repeats the whole input and output so far, so it extends the
//! cached prefix and the model remembers what it read and did.
//!
//! One conversation per document, replaced by the next action there,
//! dropped when the document closes or is reopened, after
//! `refineTtlMinutes`, and when too many or too large: memory stays bounded.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;
use std::num::NonZeroUsize;

use crate::assist::ActionKind;
use crate::config::EditTool;
use crate::model::{InputItem, ToolCall};
use crate::workspace::DocumentKey;

/// At most this many documents keep a conversation (least recently saved
/// first out).
const MAX_CONVERSATIONS: usize = 32;

/// A conversation whose items serialise to more than this is not kept: a
/// refine would resend all of it.
const MAX_CONVERSATION_BYTES: usize = 4 << 20;

/// What became of the conversation's last edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Handed to the editor inside a resolved code action: applied unless
    /// the user undid it, which the server cannot know.
    Handed,
    /// `workspace/applyEdit` answered that it was applied.
    Applied,
    /// The editor did not apply it (the user rejected it in review).
    Rejected,
}

/// A finished edit conversation.
#[derive(Debug, Clone)]
pub(crate) struct Saved {
    /// The open of the document it was made on.
    pub(crate) generation: u64,
    pub(crate) action: ActionKind,
    /// The LSP range the action targeted, as sent.
    pub(crate) range: tower_lsp_server::ls_types::Range,
    /// The edit mode its tools belong to.
    pub(crate) mode: EditTool,
    /// Every input item so far: the prompt, each response's output items,
    /// the tools' answers.
    pub(crate) input: Vec<InputItem>,
    /// The calls that carried the last patch: a follow-up answers them first.
    pub(crate) pending: Vec<ToolCall>,
    pub(crate) delivery: Delivery,
    saved_at: Instant,
}

impl Saved {
    pub(crate) fn new(
        generation: u64,
        action: ActionKind,
        range: tower_lsp_server::ls_types::Range,
        mode: EditTool,
        input: Vec<InputItem>,
        pending: Vec<ToolCall>,
    ) -> Self {
        Self {
            generation,
            action,
            range,
            mode,
            input,
            pending,
            delivery: Delivery::Handed,
            saved_at: Instant::now(),
        }
    }
}

/// The store (see the module docs).
#[derive(Debug)]
pub(crate) struct Conversations {
    map: Mutex<LruCache<DocumentKey, Saved>>,
}

impl Default for Conversations {
    fn default() -> Self {
        Self {
            map: Mutex::new(LruCache::new(
                NonZeroUsize::new(MAX_CONVERSATIONS).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }
}

impl Conversations {
    /// Keeps `saved` as the document's conversation, replacing the last
    /// one; one too large to resend is not kept (and the last one goes).
    pub(crate) fn save(&self, document: DocumentKey, saved: Saved) {
        let bytes: usize = saved.input.iter().map(InputItem::approx_len).sum();
        let Ok(mut map) = self.map.lock() else { return };
        if bytes > MAX_CONVERSATION_BYTES {
            tracing::debug!(bytes, "the conversation is too large to keep for a refine");
            map.pop(&document);
            return;
        }
        map.put(document, saved);
    }

    /// Records what became of the document's last edit.
    pub(crate) fn set_delivery(&self, document: &DocumentKey, delivery: Delivery) {
        if let Ok(mut map) = self.map.lock()
            && let Some(saved) = map.get_mut(document)
        {
            saved.delivery = delivery;
        }
    }

    /// The document's conversation, if it belongs to the open `generation`
    /// and is younger than `ttl`.
    pub(crate) fn get(
        &self,
        document: &DocumentKey,
        generation: u64,
        ttl: Duration,
    ) -> Option<Saved> {
        let mut map = self.map.lock().ok()?;
        let fresh = map
            .peek(document)
            .is_some_and(|s| s.generation == generation && s.saved_at.elapsed() <= ttl);
        if !fresh {
            map.pop(document);
            return None;
        }
        map.get(document).cloned()
    }

    /// Drops the document's conversation (it was closed or reopened).
    pub(crate) fn drop_document(&self, document: &DocumentKey) {
        if let Ok(mut map) = self.map.lock() {
            map.pop(document);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn saved(generation: u64, text: &str) -> Saved {
        Saved::new(
            generation,
            ActionKind::Simplify,
            tower_lsp_server::ls_types::Range::default(),
            EditTool::Freeform,
            vec![InputItem::user_text(text)],
            Vec::new(),
        )
    }

    fn key(name: &str) -> DocumentKey {
        DocumentKey::file(Path::new("/ws").join(name).as_path())
    }

    #[test]
    fn a_conversation_belongs_to_its_open_and_expires() {
        let store = Conversations::default();
        store.save(key("a.rs"), saved(3, "x"));
        assert!(
            store
                .get(&key("a.rs"), 3, Duration::from_secs(60))
                .is_some()
        );
        // Reopened: another generation; the old conversation is gone.
        assert!(
            store
                .get(&key("a.rs"), 4, Duration::from_secs(60))
                .is_none()
        );
        assert!(
            store
                .get(&key("a.rs"), 3, Duration::from_secs(60))
                .is_none()
        );
        store.save(key("a.rs"), saved(3, "x"));
        assert!(store.get(&key("a.rs"), 3, Duration::ZERO).is_none());
    }

    #[test]
    fn memory_is_bounded_by_count_and_size() {
        let store = Conversations::default();
        for k in 0..MAX_CONVERSATIONS + 5 {
            store.save(key(&format!("{k}.rs")), saved(1, "x"));
        }
        assert_eq!(store.len(), MAX_CONVERSATIONS);
        store.save(key("big.rs"), saved(1, "x"));
        store.save(
            key("big.rs"),
            saved(1, &"y".repeat(MAX_CONVERSATION_BYTES + 1)),
        );
        assert!(
            store
                .get(&key("big.rs"), 1, Duration::from_secs(60))
                .is_none()
        );
    }

    #[test]
    fn delivery_is_recorded() {
        let store = Conversations::default();
        store.save(key("a.rs"), saved(1, "x"));
        store.set_delivery(&key("a.rs"), Delivery::Rejected);
        let got = store.get(&key("a.rs"), 1, Duration::from_secs(60)).unwrap();
        assert_eq!(got.delivery, Delivery::Rejected);
    }
}
