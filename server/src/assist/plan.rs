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

use ropey::Rope;

use crate::assist::apply::{Patching, hunk_keys};
use crate::assist::diff::minimal_edits;
use crate::assist::error::{AssistError, refused};
use crate::assist::patch::{FileOp, Hunk, Patch};
use crate::assist::privacy::{REDACTION_PREFIX, looks_binary};
use crate::assist::prompt::relative_path;
use crate::text::{self, TextEdit};

/// Where the text of files other than the primary one comes from: open
/// document snapshots first, then disk.
pub trait FileSource {
    /// The current text of the file at this absolute path, if it exists.
    fn read(&self, path: &Path) -> Option<String>;

    /// The same as a rope (an open document's is shared, not copied).
    fn read_rope(&self, path: &Path) -> Option<Rope> {
        self.read(path).map(|text| Rope::from_str(&text))
    }
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

/// Files smaller than this are patched whole: a window would save nothing.
const WINDOW_MIN_BYTES: usize = 64 * 1024;
/// Lines kept around what a window must hold, besides the hunks' own length.
const WINDOW_MARGIN_LINES: usize = 8;

/// Whether hunks are applied on a window of a file around where they can
/// match, or on the whole file (see [`plan_edits_with`]).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Windowing {
    /// A window for files of 64 KiB and more (what [`plan_edits`] does).
    Auto,
    /// Always the whole file (the reference the window must agree with).
    Never,
    /// A window whenever one can be found, whatever the file's size.
    Always,
}

/// One file being updated: its text, and the patch so far on a window of it
/// or on all of it.
struct Updating<'p> {
    text: Rope,
    /// Byte offset of the window in `text` (0 for the whole text).
    offset: usize,
    patching: Patching,
    windowed: bool,
    /// Each `Update` section applied so far (a windowed file is patched
    /// whole again from its sections when the window cannot decide).
    sections: Vec<(&'p [Hunk], &'p str)>,
}

impl<'p> Updating<'p> {
    fn whole(text: Rope) -> Self {
        let patching = Patching::with_redactions(text.to_string());
        Self {
            text,
            offset: 0,
            patching,
            windowed: false,
            sections: Vec::new(),
        }
    }

    /// A window of `text` holding every line `hunks` could match up to the
    /// exact-but-whitespace passes, a margin from its edges (see
    /// [`Patching::window`]). `None` when there is no such window smaller
    /// than the file, or the file holds a private-key block or placeholder
    /// text (its redaction is not line by line then), or a NUL byte.
    fn window(text: &Rope, hunks: &[Hunk]) -> Option<Self> {
        let mut needles: Vec<&[u8]> = vec![b"\0", b"PRIVATE KEY", REDACTION_PREFIX.as_bytes()];
        let mut span = 0;
        if hunks.is_empty() {
            return None;
        }
        for hunk in hunks {
            let (keys, lines) = hunk_keys(hunk)?;
            needles.extend(keys.iter().map(|k| k.as_bytes()));
            span = span.max(lines);
        }
        let found = text::first_and_last(text, &needles);
        if found[..3].iter().any(Option::is_some) {
            return None;
        }
        let mut first = usize::MAX;
        let mut last = 0;
        for (at, needle) in found[3..].iter().zip(&needles[3..]) {
            // A key found nowhere: the hunk can only match loosely, or not
            // at all (and then the whole file says why).
            let (a, b) = (*at)?;
            first = first.min(a);
            last = last.max(b + needle.len().saturating_sub(1));
        }
        let margin = span + WINDOW_MARGIN_LINES;
        let start = text::line_start_before(text, first, margin);
        let end = text::line_end_after(text, last, margin);
        let len = text.len_bytes();
        if start == 0 && end == len {
            return None;
        }
        let patching = Patching::window(
            text.byte_slice(start..end).to_string(),
            start > 0,
            end < len,
        );
        Some(Self {
            text: text.clone(),
            offset: start,
            patching,
            windowed: true,
            sections: Vec::new(),
        })
    }

    /// The whole file again, with every section so far applied to it.
    fn widen(&mut self) -> Result<(), AssistError> {
        if !self.windowed {
            return Ok(());
        }
        let mut whole = Self::whole(self.text.clone());
        for (hunks, path) in &self.sections {
            whole.patching.apply(hunks, path)?;
        }
        whole.sections = std::mem::take(&mut self.sections);
        *self = whole;
        Ok(())
    }

    /// Applies one section; on a window, falls back to the whole file when
    /// the window cannot decide as the whole file would.
    fn apply(&mut self, hunks: &'p [Hunk], path: &'p str) -> Result<(), AssistError> {
        if self.windowed {
            let mut trial = self.patching.clone();
            match trial.apply(hunks, path) {
                Ok(()) if !trial.doubtful() => {
                    self.patching = trial;
                    self.sections.push((hunks, path));
                    return Ok(());
                }
                _ => self.widen()?,
            }
        }
        self.patching.apply(hunks, path)?;
        self.sections.push((hunks, path));
        Ok(())
    }
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
    let (path, text) = primary;
    plan_edits_with(
        patch,
        (path, &Rope::from_str(text)),
        others,
        workspace_root,
        Windowing::Auto,
    )
}

/// [`plan_edits`] on the snapshot's rope: a large file's hunks are applied
/// on a window of it around where they can match (found by one search over
/// the rope for their lines), and the minimal edits computed there, so the
/// work follows the patch rather than the file; the result is the same as
/// on the whole file (`windowing` chooses, for tests).
pub fn plan_edits_with(
    patch: &Patch,
    primary: (&Path, &Rope),
    others: &dyn FileSource,
    workspace_root: Option<&Path>,
    windowing: Windowing,
) -> Result<Vec<FileChange>, AssistError> {
    let (primary_path, primary_text) = primary;
    let primary_rel = relative_path(workspace_root, primary_path);
    let primary_norm = normalise(primary_path);
    // Original and patched text per path, in first-seen order.
    let mut order: Vec<PathBuf> = Vec::new();
    let mut updates: HashMap<PathBuf, Updating<'_>> = HashMap::new();
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
                let updating = match updates.get_mut(&path) {
                    Some(updating) => {
                        // Later sections of a file are applied to all of it.
                        updating.widen()?;
                        if looks_binary(&updating.patching.text()) {
                            return Err(AssistError::EditsBinary { path: raw.clone() });
                        }
                        updating
                    }
                    None => {
                        let current = if is_primary {
                            primary_text.clone()
                        } else {
                            others
                                .read_rope(&path)
                                .ok_or_else(|| AssistError::FileNotFound { path: raw.clone() })?
                        };
                        let window = match windowing {
                            Windowing::Never => None,
                            Windowing::Auto if current.len_bytes() < WINDOW_MIN_BYTES => None,
                            _ => Updating::window(&current, hunks),
                        };
                        let updating = match window {
                            Some(window) => window,
                            None => {
                                if text::has_nul(&current) {
                                    return Err(AssistError::EditsBinary { path: raw.clone() });
                                }
                                Updating::whole(current)
                            }
                        };
                        order.push(path.clone());
                        updates.entry(path).or_insert(updating)
                    }
                };
                updating.apply(hunks, raw)?;
            }
            FileOp::Add {
                path: raw,
                content,
                line,
            } => {
                if creates.contains_key(&path) || updates.contains_key(&path) {
                    return Err(AssistError::ConflictingOperations { path: raw.clone() });
                }
                if is_primary || path.exists() || others.read_rope(&path).is_some() {
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
        if let Some(updating) = updates.remove(&path) {
            let patching = &updating.patching;
            let patched = patching.finish(&relative_path(workspace_root, &path))?;
            let shift = |r: Range<usize>| r.start + updating.offset..r.end + updating.offset;
            let mut edits = minimal_edits(patching.original(), &patched);
            for edit in &mut edits {
                edit.range = shift(edit.range.clone());
            }
            if !edits.is_empty() {
                let spans: Vec<Range<usize>> =
                    patching.changed_spans().into_iter().map(shift).collect();
                let guards = guards(&edits, &spans);
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
