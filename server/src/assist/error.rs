//! The errors of the assist core, each worded so it can be shown to the user
//! as is.

use crate::assist::patch::PatchError;

/// Why a prompt could not be built or a reply could not become edits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssistError {
    /// The file matches one of the `exclude` globs and is never sent.
    #[error("`{path}` is excluded from Codex by the pattern `{pattern}` (setting codex.exclude)")]
    Excluded {
        /// Workspace-relative path of the file.
        path: String,
        /// The glob that matched.
        pattern: String,
    },
    /// The text contains NUL bytes, so it is most likely not source code.
    #[error("`{path}` looks like a binary file (it contains NUL bytes); it is not sent to Codex")]
    Binary {
        /// Workspace-relative path of the file.
        path: String,
    },
    /// The file is larger than `maxFileBytes`.
    #[error(
        "`{path}` is {bytes} bytes, over the limit of {limit} bytes (setting codex.maxFileBytes)"
    )]
    TooLarge {
        /// Workspace-relative path of the file.
        path: String,
        /// Its size.
        bytes: u64,
        /// The configured limit.
        limit: u64,
    },
    /// Even the target region and the task alone do not fit the budget.
    #[error(
        "the selected code and task need about {needed} tokens, over the budget of {budget} (setting codex.maxContextTokens); select a smaller region"
    )]
    RegionTooLarge {
        /// Tokens needed by the mandatory parts.
        needed: usize,
        /// The configured budget.
        budget: usize,
    },
    /// An exclusion glob does not compile.
    #[error("exclusion pattern `{pattern}` is not a valid glob: {message}")]
    InvalidGlob {
        /// The pattern.
        pattern: String,
        /// The compiler's complaint.
        message: String,
    },
    /// The o200k tokenizer could not be loaded.
    #[error("the o200k tokenizer could not be loaded: {0}")]
    Tokenizer(String),
    /// The reply is not a well-formed patch.
    #[error("the reply is not a valid patch: {0}")]
    Patch(#[from] PatchError),
    /// A hunk's context or removed lines are not in the file.
    #[error(
        "hunk at reply line {hunk_line} does not match `{path}`: the lines starting with `{first_line}` were not found"
    )]
    HunkNotFound {
        /// Path as written in the patch.
        path: String,
        /// Line of the hunk in the reply (1-based).
        hunk_line: usize,
        /// The first line the hunk expected, to help the user see why.
        first_line: String,
    },
    /// A hunk matches more than one place, so applying it would be a guess.
    #[error(
        "hunk at reply line {hunk_line} matches {count} places in `{path}` (first at lines {first} and {second}); it needs more context"
    )]
    AmbiguousHunk {
        /// Path as written in the patch.
        path: String,
        /// Line of the hunk in the reply (1-based).
        hunk_line: usize,
        /// How many places match.
        count: usize,
        /// 1-based line of the first match.
        first: usize,
        /// 1-based line of the second match.
        second: usize,
    },
    /// A hunk matches only above the previous hunk: hunks go in file order.
    #[error(
        "hunk at reply line {hunk_line} matches `{path}` at line {found}, above the previous hunk (which ended at line {previous_end}): hunks must be in file order"
    )]
    HunkOutOfOrder {
        /// Path as written in the patch.
        path: String,
        /// Line of the hunk in the reply (1-based).
        hunk_line: usize,
        /// 1-based line where it matches.
        found: usize,
        /// 1-based line where the previous hunk's change ended.
        previous_end: usize,
    },
    /// The `@@ anchor` line of a hunk is not in the file.
    #[error("hunk at reply line {hunk_line}: the anchor `@@ {anchor}` was not found in `{path}`")]
    AnchorNotFound {
        /// Path as written in the patch.
        path: String,
        /// Line of the hunk in the reply (1-based).
        hunk_line: usize,
        /// The anchor text.
        anchor: String,
    },
    /// A patch path leaves the workspace or is otherwise unacceptable.
    #[error("the patch names `{path}`, which is refused: {reason}")]
    PathRefused {
        /// Path as written in the patch.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// A patch updates a file that cannot be read.
    #[error("the patch updates `{path}`, which does not exist or cannot be read")]
    FileNotFound {
        /// Path as written in the patch.
        path: String,
    },
    /// A patch updates a file that looks binary (it contains NUL bytes).
    #[error(
        "the patch updates `{path}`, which looks like a binary file (it contains NUL bytes); it is not changed"
    )]
    EditsBinary {
        /// Path as written in the patch.
        path: String,
    },
    /// A patch adds a file that already exists.
    #[error("the patch adds `{path}`, which already exists")]
    AlreadyExists {
        /// Path as written in the patch.
        path: String,
    },
    /// The patch both adds and updates the same file, or adds it twice.
    #[error("the patch adds `{path}` and also adds or updates it elsewhere")]
    ConflictingOperations {
        /// Path as written in the patch.
        path: String,
    },
    /// The reply would write a redaction placeholder into a file, destroying
    /// the secret it replaced.
    #[error(
        "the patch writes a redacted placeholder into `{path}` at reply line {line}; refusing so the secret it hides is not lost"
    )]
    WritesRedaction {
        /// Path as written in the patch.
        path: String,
        /// Line of the offending hunk in the reply (1-based).
        line: usize,
    },
    /// The reply removes or rewrites only part of a redacted block (a
    /// private key shown as one placeholder line), which would cut the real
    /// block apart.
    #[error(
        "the patch changes only part of a redacted block in `{path}` (a private key shown as a placeholder); it must keep or remove the block whole"
    )]
    SplitsRedaction {
        /// Path as written in the patch.
        path: String,
    },
}

/// Convenience for paths in messages.
pub(crate) fn display_path(path: &std::path::Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Convenience constructor for [`AssistError::PathRefused`].
pub(crate) fn refused(path: &str, reason: impl Into<String>) -> AssistError {
    AssistError::PathRefused {
        path: path.to_owned(),
        reason: reason.into(),
    }
}
