//! From a parsed patch to file changes: resolves each path inside the
//! workspace, applies the hunks to the right text (as the model saw it,
//! redacted, while the real text is what changes), and computes minimal
//! edits with the spans they depend on.
//!
//! Safety rules: paths are workspace-relative; `..` components, absolute
//! paths outside the root and symlinks whose target lies outside the root are
//! refused. Without a workspace root only the primary file may be updated and
//! nothing may be created. Files that look binary (NUL bytes) are never
//! updated. Files are never deleted or moved (the parser
//! refuses those operations).

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use crate::assist::apply::Patching;
use crate::assist::diff::minimal_edits;
use crate::assist::error::{AssistError, refused};
use crate::assist::patch::{FileOp, Patch};
use crate::assist::privacy::{REDACTION_PREFIX, looks_binary};
use crate::assist::prompt::relative_path;
use crate::text::TextEdit;

/// Where the text of files other than the primary one comes from: open
/// document snapshots first, then disk.
pub trait FileSource {
    /// The current text of the file at this absolute path, if it exists.
    fn read(&self, path: &Path) -> Option<String>;
}

impl FileSource for HashMap<PathBuf, String> {
    fn read(&self, path: &Path) -> Option<String> {
        self.get(path).cloned()
    }
}

/// One file's change, ready to become part of a workspace edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Absolute path, inside the workspace.
    pub path: PathBuf,
    /// What happens to it.
    pub kind: FileChangeKind,
    /// For an update, one range per edit (same order): the bytes of the text
    /// the edit depends on, which the user must not have changed meanwhile.
    /// That is the edit plus the lines the patch rewrote around it: minimal
    /// edits are trimmed to the changed characters (`10` → `100` is "insert
    /// `0`"), but the model rewrote the whole line, so the user retyping
    /// `10` as `20` must conflict rather than merge into `200`. Pass them to
    /// [`crate::assist::rebase_guarded`]. Empty for a created file.
    pub guards: Vec<Range<usize>>,
}

/// What happens to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChangeKind {
    /// Minimal edits on the text the patch was applied to (for the primary
    /// file: the snapshot sent), sorted and non-overlapping.
    Update {
        /// The edits.
        edits: Vec<TextEdit>,
    },
    /// A new file with this content.
    Create {
        /// The content.
        content: String,
    },
}

/// Lexical normalisation: drops `.` components; `..` is refused by the caller.
fn normalise(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// Canonical form of the deepest existing ancestor of `path` joined with the
/// rest, so symlinks anywhere on the existing part are resolved.
pub(crate) fn canonical_prefix(path: &Path) -> Option<PathBuf> {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            let mut out = c;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return Some(out);
        }
        let name = existing.file_name()?.to_os_string();
        rest.push(name);
        if !existing.pop() {
            return None;
        }
    }
}

/// Resolves a patch path to an absolute path inside the root.
fn resolve(
    raw: &str,
    root: Option<&Path>,
    primary: &Path,
    primary_rel: &str,
) -> Result<PathBuf, AssistError> {
    let cleaned = raw.trim().trim_matches('`').trim_matches('"');
    if cleaned.is_empty() {
        return Err(refused(raw, "the path is empty"));
    }
    if cleaned.contains('\0') {
        return Err(refused(raw, "the path contains a NUL byte"));
    }
    let as_path = Path::new(cleaned);
    if as_path
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(refused(raw, "`..` components are not allowed"));
    }
    let Some(root) = root else {
        // No workspace: only the primary file, by its name or full path.
        let n = normalise(as_path);
        if cleaned == primary_rel || n == normalise(primary) {
            return Ok(primary.to_path_buf());
        }
        return Err(refused(
            raw,
            "without a workspace folder only the current file may be changed",
        ));
    };
    let joined = if as_path.is_absolute() {
        let n = normalise(as_path);
        if !n.starts_with(root) {
            return Err(refused(
                raw,
                "absolute paths outside the workspace are not allowed",
            ));
        }
        n
    } else if matches!(
        as_path.components().next(),
        Some(Component::Prefix(_) | Component::RootDir)
    ) {
        return Err(refused(raw, "the path is not workspace-relative"));
    } else {
        normalise(&root.join(as_path))
    };
    if joined == root {
        return Err(refused(raw, "the path names the workspace folder itself"));
    }
    // Symlinks: the canonical target must stay inside the canonical root.
    if let (Some(canon_root), Some(canon)) = (root.canonicalize().ok(), canonical_prefix(&joined))
        && !canon.starts_with(&canon_root)
    {
        return Err(refused(
            raw,
            "it resolves (through a symbolic link) outside the workspace",
        ));
    }
    Ok(joined)
}

/// Turns a patch into file changes. `primary` is the document the prompt was
/// built from, with exactly the snapshot text sent; other files are read from
/// `others`. Nothing is returned unless every operation succeeds.
pub fn plan_edits(
    patch: &Patch,
    primary: (&Path, &str),
    others: &dyn FileSource,
    workspace_root: Option<&Path>,
) -> Result<Vec<FileChange>, AssistError> {
    let (primary_path, primary_text) = primary;
    let primary_rel = relative_path(workspace_root, primary_path);
    let primary_norm = normalise(primary_path);
    // Original and patched text per path, in first-seen order.
    let mut order: Vec<PathBuf> = Vec::new();
    let mut updates: HashMap<PathBuf, Patching> = HashMap::new();
    let mut creates: HashMap<PathBuf, String> = HashMap::new();
    for op in patch.ops.iter() {
        if let (FileOp::Add { path: raw, .. }, None) = (op, workspace_root) {
            return Err(refused(
                raw,
                "files can only be created inside a workspace folder",
            ));
        }
        let path = resolve(op.path(), workspace_root, primary_path, &primary_rel)?;
        let is_primary = normalise(&path) == primary_norm;
        match op {
            FileOp::Update {
                path: raw, hunks, ..
            } => {
                if creates.contains_key(&path) {
                    return Err(AssistError::ConflictingOperations { path: raw.clone() });
                }
                let patching = match updates.get_mut(&path) {
                    Some(patching) => {
                        if looks_binary(&patching.text()) {
                            return Err(AssistError::EditsBinary { path: raw.clone() });
                        }
                        patching
                    }
                    None => {
                        let current = if is_primary {
                            primary_text.to_owned()
                        } else {
                            others
                                .read(&path)
                                .ok_or_else(|| AssistError::FileNotFound { path: raw.clone() })?
                        };
                        if looks_binary(&current) {
                            return Err(AssistError::EditsBinary { path: raw.clone() });
                        }
                        order.push(path.clone());
                        updates
                            .entry(path)
                            .or_insert(Patching::with_redactions(current))
                    }
                };
                patching.apply(hunks, raw)?;
            }
            FileOp::Add {
                path: raw,
                content,
                line,
            } => {
                if creates.contains_key(&path) || updates.contains_key(&path) {
                    return Err(AssistError::ConflictingOperations { path: raw.clone() });
                }
                if is_primary || path.exists() || others.read(&path).is_some() {
                    return Err(AssistError::AlreadyExists { path: raw.clone() });
                }
                if content.contains(REDACTION_PREFIX) {
                    return Err(AssistError::WritesRedaction {
                        path: raw.clone(),
                        line: *line,
                    });
                }
                order.push(path.clone());
                creates.insert(path, content.clone());
            }
        }
    }
    let mut changes = Vec::new();
    for path in order {
        if let Some(patching) = updates.remove(&path) {
            let patched = patching.finish(&relative_path(workspace_root, &path))?;
            let edits = minimal_edits(patching.original(), &patched);
            if !edits.is_empty() {
                let guards = guards(&edits, &patching.changed_spans());
                changes.push(FileChange {
                    path,
                    kind: FileChangeKind::Update { edits },
                    guards,
                });
            }
        } else if let Some(content) = creates.remove(&path) {
            changes.push(FileChange {
                path,
                kind: FileChangeKind::Create { content },
                guards: Vec::new(),
            });
        }
    }
    Ok(changes)
}

/// Each edit's guard ([`FileChange::guards`]): the edit's range widened to
/// every changed span it overlaps or touches. Both lists are sorted.
fn guards(edits: &[TextEdit], spans: &[Range<usize>]) -> Vec<Range<usize>> {
    edits
        .iter()
        .map(|e| {
            spans
                .iter()
                .filter(|s| s.start <= e.range.end && s.end >= e.range.start)
                .fold(e.range.clone(), |g, s| {
                    g.start.min(s.start)..g.end.max(s.end)
                })
        })
        .collect()
}
