//! The catalogue of code actions: ids, titles, what each produces and how
//! hard the model should think about it.

use crate::config::{Effort, Settings};

/// One kind of Codex action offered to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// The action for an id, so commands can round-trip through JSON.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.id() == id)
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
    fn ids_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in ActionKind::ALL {
            assert_eq!(ActionKind::from_id(a.id()), Some(a));
            assert!(seen.insert(a.id()));
        }
        assert_eq!(ActionKind::from_id("nope"), None);
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
