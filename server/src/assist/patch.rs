//! Parsing the Codex `apply_patch` reply format.
//!
//! Tolerant outside the block (prose and Markdown fences around it are
//! ignored), strict inside: every line must be what the grammar allows at
//! that point, and an error names the reply line (1-based) and what was
//! expected there.
//!
//! ```text
//! *** Begin Patch
//! *** Update File: PATH
//! @@ optional anchor line
//!  context
//! -removed
//! +added
//! *** End of File            (optional, ends a hunk at the end of the file)
//! *** Add File: PATH
//! +line of the new file
//! *** End Patch
//! ```
//!
//! `*** Delete File:` and `*** Move to:` are recognised and refused: this
//! server never deletes or renames files. An empty line inside a hunk is read
//! as an empty context line, as Codex itself does; empty lines that only
//! separate (after a file header, between hunks, after `*** End of File`,
//! before the next header) are skipped. Marker and header lines may be
//! indented (models sometimes indent them); hunk lines keep their
//! one-column marker.

/// The format as a Lark grammar, for the `apply_patch` custom tool: the
/// model's input is then a well-formed patch (deleting and moving files
/// left out).
pub const APPLY_PATCH_GRAMMAR: &str = include_str!("apply_patch.lark");

const BEGIN: &str = "*** Begin Patch";
const END: &str = "*** End Patch";
const UPDATE: &str = "*** Update File: ";
const ADD: &str = "*** Add File: ";
const DELETE: &str = "*** Delete File: ";
const MOVE: &str = "*** Move to: ";
const EOF_MARK: &str = "*** End of File";

/// A parsed patch: file operations in reply order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// The operations.
    pub ops: Vec<FileOp>,
}

/// One file operation of a patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOp {
    /// Change an existing file with hunks.
    Update {
        /// Path as written (workspace-relative).
        path: String,
        /// Hunks, in file order.
        hunks: Vec<Hunk>,
        /// Reply line of the `*** Update File:` header (1-based).
        line: usize,
    },
    /// Create a new file.
    Add {
        /// Path as written (workspace-relative).
        path: String,
        /// Its full content (lines joined with `\n`, ending with one).
        content: String,
        /// Reply line of the `*** Add File:` header (1-based).
        line: usize,
    },
}

impl FileOp {
    /// The path the operation names.
    pub fn path(&self) -> &str {
        match self {
            FileOp::Update { path, .. } | FileOp::Add { path, .. } => path,
        }
    }
}

/// One hunk: lines to find (context and removed) and what replaces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// The text after `@@ `, a line expected above the change.
    pub anchor: Option<String>,
    /// The hunk's lines.
    pub lines: Vec<HunkLine>,
    /// Whether the hunk must end at the end of the file.
    pub end_of_file: bool,
    /// Reply line where the hunk starts (1-based).
    pub line: usize,
}

impl Hunk {
    /// Lines the file must contain (context and removed).
    pub fn old_lines(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                HunkLine::Context(s) | HunkLine::Remove(s) => Some(s.as_str()),
                HunkLine::Add(_) => None,
            })
            .collect()
    }

    /// Lines after the change (context and added).
    pub fn new_lines(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                HunkLine::Context(s) | HunkLine::Add(s) => Some(s.as_str()),
                HunkLine::Remove(_) => None,
            })
            .collect()
    }
}

/// One line of a hunk, without its leading marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HunkLine {
    /// Unchanged line (` `).
    Context(String),
    /// Removed line (`-`).
    Remove(String),
    /// Added line (`+`).
    Add(String),
}

/// Why a reply is not a valid patch. Line numbers are 1-based in the reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// There is no `*** Begin Patch` line.
    #[error("no `*** Begin Patch` line found; the reply is not a patch")]
    NoPatch,
    /// The block never ends.
    #[error(
        "the patch that begins at line {begin} has no `*** End Patch` line (the reply may be truncated)"
    )]
    MissingEnd {
        /// Line of `*** Begin Patch`.
        begin: usize,
    },
    /// A second patch block follows the first.
    #[error("line {line}: a second `*** Begin Patch`; expected a single patch")]
    MultiplePatches {
        /// Line of the second `*** Begin Patch`.
        line: usize,
    },
    /// The block holds no file operation.
    #[error(
        "line {line}: the patch is empty; expected `*** Update File: PATH` or `*** Add File: PATH`"
    )]
    Empty {
        /// Line of `*** End Patch`.
        line: usize,
    },
    /// A line that the grammar does not allow at this point.
    #[error("line {line}: expected {expected}, found `{found}`")]
    Unexpected {
        /// The line.
        line: usize,
        /// What was expected.
        expected: &'static str,
        /// What was found (shortened).
        found: String,
    },
    /// A file header without a path.
    #[error("line {line}: the file header has no path")]
    EmptyPath {
        /// The line.
        line: usize,
    },
    /// An update with no hunks.
    #[error(
        "line {line}: `*** Update File: {path}` has no hunks; expected `@@` or lines starting with ' ', '-' or '+'"
    )]
    EmptyUpdate {
        /// Line of the header.
        line: usize,
        /// The path.
        path: String,
    },
    /// A hunk that changes nothing.
    #[error("line {line}: the hunk has no '-' or '+' lines")]
    EmptyHunk {
        /// Line where the hunk starts.
        line: usize,
    },
    /// An added file with no lines.
    #[error("line {line}: `*** Add File: {path}` has no lines; expected lines starting with '+'")]
    EmptyAdd {
        /// Line of the header.
        line: usize,
        /// The path.
        path: String,
    },
    /// `*** Delete File:`.
    #[error("line {line}: deleting files is not supported (`*** Delete File: {path}`)")]
    DeleteUnsupported {
        /// The line.
        line: usize,
        /// The path.
        path: String,
    },
    /// `*** Move to:`.
    #[error("line {line}: moving files is not supported (`*** Move to: {path}`)")]
    MoveUnsupported {
        /// The line.
        line: usize,
        /// The target path.
        path: String,
    },
}

fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.len() <= MAX {
        s.to_owned()
    } else {
        format!("{}…", &s[..crate::text::floor_char_boundary(s, MAX)])
    }
}

/// Whether `line` is one of the `***` marker or header lines (indentation
/// allowed), which end a hunk or an added file.
fn is_marker(line: &str) -> bool {
    let t = line.trim();
    [UPDATE, ADD, DELETE, MOVE]
        .iter()
        .any(|p| t.starts_with(p.trim_end()))
        || [BEGIN, END, EOF_MARK].contains(&t)
}

/// Whether only empty lines lie between line `i` and the next marker line
/// (or the end).
fn blank_until_marker(lines: &[&str], i: usize) -> bool {
    lines[i..]
        .iter()
        .find(|l| !l.trim().is_empty())
        .is_none_or(|l| is_marker(l))
}

fn path_after(line: &str, prefix: &str, n: usize) -> Result<String, PatchError> {
    let path = line[prefix.trim_end().len()..].trim();
    if path.is_empty() {
        return Err(PatchError::EmptyPath { line: n });
    }
    Ok(path.to_owned())
}

/// Parses the patch block of a model reply.
pub fn parse_patch(reply: &str) -> Result<Patch, PatchError> {
    // Reply lines without their line breaks; the reply's own line endings do
    // not matter (the file's are kept when applying).
    let lines: Vec<&str> = reply
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let begin = lines
        .iter()
        .position(|l| l.trim() == BEGIN)
        .ok_or(PatchError::NoPatch)?;
    let mut i = begin + 1;
    let mut ops = Vec::new();
    let num = |i: usize| i + 1;
    loop {
        let Some(&line) = lines.get(i) else {
            return Err(PatchError::MissingEnd { begin: num(begin) });
        };
        let n = num(i);
        // Header lines may be indented; their paths are trimmed.
        let line = line.trim();
        if line.is_empty() {
            i += 1;
            continue;
        }
        if line == END {
            if ops.is_empty() {
                return Err(PatchError::Empty { line: n });
            }
            if let Some(j) = lines[i + 1..].iter().position(|l| l.trim() == BEGIN) {
                return Err(PatchError::MultiplePatches {
                    line: num(i + 1 + j),
                });
            }
            return Ok(Patch { ops });
        }
        if line.trim() == BEGIN {
            return Err(PatchError::MultiplePatches { line: n });
        }
        if let Some(rest) = line.strip_prefix(DELETE.trim_end()) {
            return Err(PatchError::DeleteUnsupported {
                line: n,
                path: rest.trim().to_owned(),
            });
        }
        if line.starts_with(UPDATE.trim_end()) {
            let path = path_after(line, UPDATE, n)?;
            i += 1;
            if let Some(rest) = lines
                .get(i)
                .and_then(|l| l.trim().strip_prefix(MOVE.trim_end()))
            {
                return Err(PatchError::MoveUnsupported {
                    line: num(i),
                    path: rest.trim().to_owned(),
                });
            }
            let (hunks, next) = parse_hunks(&lines, i)?;
            if hunks.is_empty() {
                return Err(PatchError::EmptyUpdate { line: n, path });
            }
            ops.push(FileOp::Update {
                path,
                hunks,
                line: n,
            });
            i = next;
        } else if line.starts_with(ADD.trim_end()) {
            let path = path_after(line, ADD, n)?;
            i += 1;
            let mut content = String::new();
            while let Some(l) = lines.get(i) {
                match l.strip_prefix('+') {
                    Some(text) => {
                        content.push_str(text);
                        content.push('\n');
                        i += 1;
                    }
                    None if is_marker(l) => break,
                    None if blank_until_marker(&lines, i) => i += 1,
                    None => {
                        return Err(PatchError::Unexpected {
                            line: num(i),
                            expected: "a line starting with '+' (every line of an added file) or a `***` header",
                            found: shorten(l),
                        });
                    }
                }
            }
            if content.is_empty() {
                return Err(PatchError::EmptyAdd { line: n, path });
            }
            ops.push(FileOp::Add {
                path,
                content,
                line: n,
            });
        } else {
            return Err(PatchError::Unexpected {
                line: n,
                expected: "`*** Update File: PATH`, `*** Add File: PATH` or `*** End Patch`",
                found: shorten(line),
            });
        }
    }
}

/// Parses the hunks of one update, from line `i` up to the next `***` header.
fn parse_hunks(lines: &[&str], mut i: usize) -> Result<(Vec<Hunk>, usize), PatchError> {
    let mut hunks: Vec<Hunk> = Vec::new();
    let mut current: Option<Hunk> = None;
    let finish = |h: Hunk, hunks: &mut Vec<Hunk>| -> Result<(), PatchError> {
        if !h
            .lines
            .iter()
            .any(|l| matches!(l, HunkLine::Add(_) | HunkLine::Remove(_)))
        {
            return Err(PatchError::EmptyHunk { line: h.line });
        }
        hunks.push(h);
        Ok(())
    };
    while let Some(&line) = lines.get(i) {
        let n = i + 1;
        if line.trim() == EOF_MARK {
            match current.take() {
                Some(mut h) => {
                    h.end_of_file = true;
                    finish(h, &mut hunks)?;
                }
                None => {
                    return Err(PatchError::Unexpected {
                        line: n,
                        expected: "hunk lines before `*** End of File`",
                        found: shorten(line),
                    });
                }
            }
            i += 1;
            while lines.get(i).is_some_and(|l| l.trim().is_empty()) {
                i += 1;
            }
            if let Some(&next) = lines.get(i)
                && !is_marker(next)
            {
                return Err(PatchError::Unexpected {
                    line: i + 1,
                    expected: "a `***` header after `*** End of File`",
                    found: shorten(next),
                });
            }
            continue;
        }
        if is_marker(line) {
            break;
        }
        if current.is_none() && line.trim().is_empty() {
            // Between the file header and the first hunk.
            i += 1;
            continue;
        }
        if line.trim_end() == "@@" || line.starts_with("@@ ") {
            if let Some(mut h) = current.take() {
                drop_trailing_blanks(&mut h);
                finish(h, &mut hunks)?;
            }
            let anchor = line[2..].trim();
            current = Some(Hunk {
                anchor: (!anchor.is_empty()).then(|| anchor.to_owned()),
                lines: Vec::new(),
                end_of_file: false,
                line: n,
            });
            i += 1;
            continue;
        }
        let parsed = match line.chars().next() {
            None => HunkLine::Context(String::new()),
            Some(' ') => HunkLine::Context(line[1..].to_owned()),
            Some('-') => HunkLine::Remove(line[1..].to_owned()),
            Some('+') => HunkLine::Add(line[1..].to_owned()),
            Some(_) => {
                return Err(PatchError::Unexpected {
                    line: n,
                    expected: "a hunk line starting with ' ', '-' or '+', `@@`, or a `***` header",
                    found: shorten(line),
                });
            }
        };
        current
            .get_or_insert_with(|| Hunk {
                anchor: None,
                lines: Vec::new(),
                end_of_file: false,
                line: n,
            })
            .lines
            .push(parsed);
        i += 1;
    }
    if let Some(mut h) = current.take() {
        drop_trailing_blanks(&mut h);
        finish(h, &mut hunks)?;
    }
    Ok((hunks, i))
}

/// Trailing empty lines before the next hunk or header are separators more
/// often than context; dropping them only loosens the match.
fn drop_trailing_blanks(h: &mut Hunk) {
    while matches!(h.lines.last(), Some(HunkLine::Context(s)) if s.is_empty()) {
        h.lines.pop();
    }
}
