//! The assist core: what is sent to the model and how its answer becomes safe
//! edits. Pure: no protocol types, no network.
//!
//! Reading order: [`action`] (the catalogue of code actions), [`region`]
//! (where an action applies), [`privacy`] (exclusions and redaction),
//! [`tokens`] (the o200k budget counter), [`prompt`] (context building),
//! [`patch`] (parsing the `apply_patch` reply), [`apply`] (hunks onto the
//! snapshot), [`diff`] (minimal edits), [`plan`] (paths, workspace safety and
//! the resulting file changes), [`rebase`] (edits onto a newer text) and
//! [`explain`] (cleaning an explanation).

pub mod action;
pub mod apply;
pub mod diff;
pub mod error;
pub mod explain;
pub mod patch;
pub mod plan;
pub mod privacy;
pub mod prompt;
pub mod rebase;
pub mod region;
pub mod tokens;

pub use action::ActionKind;
pub use apply::apply_hunks;
pub use diff::minimal_edits;
pub use error::AssistError;
pub use explain::clean_explanation;
pub use patch::{APPLY_PATCH_GRAMMAR, FileOp, Hunk, HunkLine, Patch, PatchError, parse_patch};
pub use plan::{FileChange, FileChangeKind, FileSource, Windowing, plan_edits, plan_edits_with};
pub use privacy::{Exclusions, REDACTION_PREFIX, redact};
pub use prompt::{
    AgentsFile, ContextRequest, DiagnosticInfo, Prompt, RelatedInfo, build_prompt, instructions,
};
pub use rebase::{RebaseConflict, rebase, rebase_guarded};
pub use region::{Region, RegionKind, target_region};
pub use tokens::count_tokens;
