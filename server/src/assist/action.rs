//! The catalogue of code actions: ids, titles, what each produces and how
//! hard the model should think about it.

use serde::{Deserialize, Serialize};

use crate::config::{Effort, Settings};

/// One kind of Codex action offered to the user. Its serde name is its
/// [`id`](ActionKind::id), so command arguments name actions by id and an
/// unknown id is a deserialization error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActionKind {
    /// Rewrite the target following the user's instruction.
    Rewrite,
    /// Make the target simpler without changing behaviour.
    Simplify,
    /// Add documentation comments.
    Document,
    /// Add error handling.
    ErrorHandling,
    /// Generate unit tests.
    Tests,
    /// Fix a diagnostic.
    Fix,
    /// Explain the target (text, not edits).
    Explain,
}

impl ActionKind {
    /// Every action, in the order they are listed to the user.
    pub const ALL: [ActionKind; 7] = [
        ActionKind::Fix,
        ActionKind::Rewrite,
        ActionKind::Simplify,
        ActionKind::Document,
        ActionKind::ErrorHandling,
        ActionKind::Tests,
        ActionKind::Explain,
    ];

    /// Stable id used in commands, settings and logs.
    pub fn id(self) -> &'static str {
        match self {
            ActionKind::Rewrite => "rewrite",
            ActionKind::Simplify => "simplify",
            ActionKind::Document => "document",
            ActionKind::ErrorHandling => "errorHandling",
            ActionKind::Tests => "tests",
            ActionKind::Fix => "fix",
            ActionKind::Explain => "explain",
        }
    }

    /// Title shown in the editor's code action menu.
    pub fn title(self) -> &'static str {
        match self {
            ActionKind::Rewrite => "Codex: Rewrite…",
            ActionKind::Simplify => "Codex: Simplify",
            ActionKind::Document => "Codex: Add documentation",
            ActionKind::ErrorHandling => "Codex: Add error handling",
            ActionKind::Tests => "Codex: Generate tests",
            ActionKind::Explain => "Codex: Explain this code",
            ActionKind::Fix => "Fix with Codex",
        }
    }

    /// Whether the reply is a patch (true) or Markdown text (explain).
    pub fn produces_edits(self) -> bool {
        !matches!(self, ActionKind::Explain)
    }

    /// Whether the action needs an instruction typed by the user.
    pub fn needs_instruction(self) -> bool {
        matches!(self, ActionKind::Rewrite)
    }

    /// Reasoning effort configured for this action.
    pub fn effort(self, settings: &Settings) -> Effort {
        let e = &settings.reasoning_effort;
        match self {
            ActionKind::Rewrite => e.rewrite,
            ActionKind::Simplify => e.simplify,
            ActionKind::Document => e.document,
            ActionKind::ErrorHandling => e.error_handling,
            ActionKind::Tests => e.tests,
            ActionKind::Fix => e.fix,
            ActionKind::Explain => e.explain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_serde_names_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in ActionKind::ALL {
            let json = serde_json::Value::String(a.id().to_owned());
            assert_eq!(serde_json::to_value(a).ok(), Some(json.clone()));
            assert_eq!(serde_json::from_value::<ActionKind>(json).ok(), Some(a));
            assert!(seen.insert(a.id()));
        }
        assert!(serde_json::from_value::<ActionKind>("nope".into()).is_err());
        assert_eq!(ActionKind::ErrorHandling.id(), "errorHandling");
    }

    #[test]
    fn only_explain_is_text() {
        let text: Vec<_> = ActionKind::ALL
            .into_iter()
            .filter(|a| !a.produces_edits())
            .collect();
        assert_eq!(text, vec![ActionKind::Explain]);
    }

    #[test]
    fn effort_follows_settings() {
        let mut s = Settings::default();
        s.reasoning_effort.fix = Effort::Xhigh;
        assert_eq!(ActionKind::Fix.effort(&s), Effort::Xhigh);
        assert_eq!(ActionKind::Simplify.effort(&s), Effort::Low);
    }
}
