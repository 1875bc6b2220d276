//! The read-only workspace tools an edit action offers the model:
//! `read_file`, `search` and `list_files`. What a Codex model needs to edit
//! well (a type defined in another file, the callers of a function) without
//! ever running anything.
//!
//! Every path crosses the workspace policy exactly as the prompt's own
//! context does: inside a workspace folder (links that lead out refused),
//! never an excluded file, never `.git/`, regular files only, bounded
//! reads, and the text redacted as the prompt is. Open documents are served
//! from the editor's text, not the disk. A refused path answers the model
//! with the reason and never any content. Results are capped, with a note
//! that says what was left out.
//!
//! Pure apart from file-system reads; no protocol types. The specs
//! ([`specs`]) are plain data the edge turns into Responses API tools.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::assist::privacy::looks_binary;
use crate::assist::redact;
use crate::workspace::{Refusal, WorkspacePolicy};

/// Most lines one `read_file` call returns.
const READ_MAX_LINES: usize = 400;
/// Most bytes of file text one `read_file` call returns.
const READ_MAX_BYTES: usize = 48 * 1024;
/// Most matches one `search` returns.
const SEARCH_MAX_MATCHES: usize = 100;
/// Most files one `search` looks into.
const SEARCH_MAX_FILES: usize = 20_000;
/// Most bytes one `search` reads, over all files: a huge repository is
/// searched in part, and says so, rather than read whole.
const SEARCH_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Files larger than this are not searched (generated or data files).
const SEARCH_FILE_MAX_BYTES: u64 = 2 * 1024 * 1024;
/// Longest line shown in a search result.
const SEARCH_LINE_CHARS: usize = 200;
/// Most entries one `list_files` returns.
const LIST_MAX_ENTRIES: usize = 400;
/// How deep `list_files` descends.
const LIST_MAX_DEPTH: usize = 4;

/// A tool as offered to the model: name, when to use it, JSON schema of
/// its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub parameters: Value,
}

/// The workspace tools, in the order they are offered.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "read_file",
            description: "Read a file of the workspace (the editor's unsaved text for open files). Lines come numbered; use start_line/end_line (1-based, inclusive) for parts of long files.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Workspace-relative path with / separators."},
                    "start_line": {"type": "integer", "minimum": 1},
                    "end_line": {"type": "integer", "minimum": 1}
                },
                "required": ["path"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "search",
            description: "Search the workspace's files for text (respects .gitignore). Results are `path:line: text`.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Text to find (case-insensitive when all lower case)."},
                    "path": {"type": "string", "description": "Only under this workspace-relative folder or file."},
                    "regex": {"type": "boolean", "description": "Treat the query as a regular expression."}
                },
                "required": ["query"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "list_files",
            description: "List the files under a workspace folder (respects .gitignore); folders end with /.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Workspace-relative folder; the workspace root when absent."}
                },
                "additionalProperties": false
            }),
        },
    ]
}

/// Whether `name` is one of the workspace tools.
pub fn is_workspace_tool(name: &str) -> bool {
    matches!(name, "read_file" | "search" | "list_files")
}

/// A workspace tool call, parsed from its JSON arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolRequest {
    ReadFile {
        path: String,
        start_line: Option<usize>,
        end_line: Option<usize>,
    },
    Search {
        query: String,
        path: Option<String>,
        regex: bool,
    },
    ListFiles {
        path: Option<String>,
    },
}

#[derive(Deserialize)]
struct ReadArgs {
    path: String,
    #[serde(default)]
    start_line: Option<usize>,
    #[serde(default)]
    end_line: Option<usize>,
}

#[derive(Deserialize)]
struct SearchArgs {
    query: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    regex: Option<bool>,
}

#[derive(Deserialize)]
struct ListArgs {
    #[serde(default)]
    path: Option<String>,
}

impl ToolRequest {
    /// Parses a call of `name` with JSON `arguments`; the error is said to
    /// the model, which can call again.
    pub fn parse(name: &str, arguments: &str) -> Result<Self, String> {
        let args = if arguments.trim().is_empty() {
            "{}"
        } else {
            arguments
        };
        let bad = |e: serde_json::Error| format!("invalid arguments for {name}: {e}");
        match name {
            "read_file" => {
                let a: ReadArgs = serde_json::from_str(args).map_err(bad)?;
                Ok(Self::ReadFile {
                    path: a.path,
                    start_line: a.start_line,
                    end_line: a.end_line,
                })
            }
            "search" => {
                let a: SearchArgs = serde_json::from_str(args).map_err(bad)?;
                Ok(Self::Search {
                    query: a.query,
                    path: a.path.filter(|p| !p.trim().is_empty()),
                    regex: a.regex.unwrap_or(false),
                })
            }
            "list_files" => {
                let a: ListArgs = serde_json::from_str(args).map_err(bad)?;
                Ok(Self::ListFiles {
                    path: a.path.filter(|p| !p.trim().is_empty()),
                })
            }
            other => Err(format!("there is no tool named `{other}`")),
        }
    }

    /// A few words for the progress display ("reading src/util.rs").
    pub fn describe(&self) -> String {
        match self {
            Self::ReadFile { path, .. } => format!("reading {path}"),
            Self::Search { query, .. } => format!("searching `{query}`"),
            Self::ListFiles { path } => format!("listing {}", path.as_deref().unwrap_or(".")),
        }
    }
}

/// Where the tools look: the policy, the folder relative paths are resolved
/// against, the byte cap of one file, and the editor's text of open files.
pub struct ToolContext<'a> {
    pub policy: &'a WorkspacePolicy,
    /// The action's workspace folder; `None` for a file outside every
    /// folder, where no tool reads anything.
    pub root: Option<&'a Path>,
    pub max_file_bytes: u64,
    pub open_text: &'a (dyn Fn(&Path) -> Option<String> + Sync),
}

impl ToolContext<'_> {
    /// Runs one call; the answer is what the model reads (a refusal is an
    /// answer too, never content).
    pub fn run(&self, request: &ToolRequest) -> String {
        let outcome = match request {
            ToolRequest::ReadFile {
                path,
                start_line,
                end_line,
            } => self.read_file(path, *start_line, *end_line),
            ToolRequest::Search { query, path, regex } => {
                self.search(query, path.as_deref(), *regex)
            }
            ToolRequest::ListFiles { path } => self.list_files(path.as_deref()),
        };
        outcome.unwrap_or_else(|refused| format!("refused: {refused}"))
    }

    /// The absolute path a model-given path names, inside the root:
    /// relative paths (the form the prompt uses) are taken from the root;
    /// `..` may not climb above it.
    fn resolve(&self, given: &str) -> Result<PathBuf, String> {
        let root = self.root.ok_or_else(|| {
            "the file is outside every workspace folder; only it is available".to_owned()
        })?;
        let given = given.trim();
        let relative = Path::new(given);
        let joined = if relative.is_absolute() {
            relative.to_path_buf()
        } else {
            root.join(relative)
        };
        let mut out = PathBuf::new();
        for component in joined.components() {
            match component {
                Component::ParentDir => {
                    if !out.pop() {
                        return Err(format!("`{given}` leaves the workspace"));
                    }
                }
                Component::CurDir => {}
                other => out.push(other),
            }
        }
        if !out.starts_with(root) && self.policy.folder_of(&out).is_none() {
            return Err(Refusal::OutsideFolders {
                path: given.to_owned(),
            }
            .to_string());
        }
        Ok(out)
    }

    /// A file's text: the editor's for an open document (still checked
    /// against the exclusions), else the disk's through the policy.
    fn text_of(&self, path: &Path) -> Result<(String, bool), String> {
        self.text_capped(path, self.max_file_bytes)
    }

    /// [`Self::text_of`], reading at most `cap` bytes from disk.
    fn text_capped(&self, path: &Path, cap: u64) -> Result<(String, bool), String> {
        if let Some(text) = (self.open_text)(path) {
            self.policy.check_send(path).map_err(|e| e.to_string())?;
            self.policy.check_inside(path).map_err(|e| e.to_string())?;
            return Ok((text, false));
        }
        let read = self.policy.read(path, cap).map_err(|e| e.to_string())?;
        if looks_binary(&read.text) {
            return Err(format!(
                "`{}` looks like a binary file",
                self.policy.display(path)
            ));
        }
        Ok((read.text, read.truncated))
    }

    fn read_file(
        &self,
        given: &str,
        start: Option<usize>,
        end: Option<usize>,
    ) -> Result<String, String> {
        let path = self.resolve(given)?;
        let (text, truncated) = self.text_of(&path)?;
        let text = redact(&text);
        let lines: Vec<&str> = text.lines().collect();
        let total = lines.len();
        let first = start.unwrap_or(1).max(1);
        if total > 0 && first > total {
            return Err(format!(
                "`{given}` has {total} lines; start_line {first} is past its end"
            ));
        }
        let last = end.unwrap_or(total).min(total).max(first.min(total));
        let mut out = String::new();
        let mut shown_last = first.saturating_sub(1);
        for (k, line) in lines
            .iter()
            .enumerate()
            .take(last)
            .skip(first.saturating_sub(1))
        {
            if k + 1 - first >= READ_MAX_LINES || out.len() + line.len() > READ_MAX_BYTES {
                break;
            }
            let _ = writeln!(out, "{:>6}\t{line}", k + 1);
            shown_last = k + 1;
        }
        let _ = write!(
            out,
            "[{} lines {first}–{shown_last} of {total}",
            self.shown(&path)
        );
        if shown_last < last {
            let _ = write!(
                out,
                "; cut at {READ_MAX_LINES} lines or {} KB, ask for start_line {}",
                READ_MAX_BYTES / 1024,
                shown_last + 1
            );
        }
        if truncated {
            out.push_str("; the file is longer than the size cap, its end is not readable");
        }
        out.push_str("]\n");
        Ok(out)
    }

    fn shown(&self, path: &Path) -> String {
        self.policy.display(path)
    }

    /// A folder the model named, or the root: inside, not excluded.
    fn folder(&self, given: Option<&str>) -> Result<PathBuf, String> {
        let Some(given) = given else {
            return self.root.map(Path::to_path_buf).ok_or_else(|| {
                "the file is outside every workspace folder; only it is available".to_owned()
            });
        };
        let path = self.resolve(given)?;
        if Some(path.as_path()) != self.root {
            self.policy.check_inside(&path).map_err(|e| e.to_string())?;
            self.policy.check_send(&path).map_err(|e| e.to_string())?;
        }
        Ok(path)
    }

    /// Walks `under` as `git` would see it (`.gitignore`, `.ignore`,
    /// `.git/info/exclude`), never following links, never into `.git`.
    fn walk(&self, under: &Path, depth: Option<usize>) -> ignore::Walk {
        let mut builder = ignore::WalkBuilder::new(under);
        builder
            .hidden(false)
            .follow_links(false)
            .require_git(false)
            .max_depth(depth)
            .filter_entry(|e| !e.file_name().eq_ignore_ascii_case(".git"))
            .sort_by_file_name(|a, b| a.cmp(b));
        builder.build()
    }

    fn list_files(&self, given: Option<&str>) -> Result<String, String> {
        let under = self.folder(given)?;
        if !under.is_dir() {
            return Err(format!("`{}` is not a folder", given.unwrap_or(".")));
        }
        let mut out = String::new();
        let mut count = 0;
        let mut more = false;
        for entry in self.walk(&under, Some(LIST_MAX_DEPTH)).flatten() {
            let path = entry.path();
            if path == under || self.policy.excluded(path).is_some() {
                continue;
            }
            if count == LIST_MAX_ENTRIES {
                more = true;
                break;
            }
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            let _ = writeln!(out, "{}{}", self.shown(path), if is_dir { "/" } else { "" });
            count += 1;
        }
        if more {
            let _ = writeln!(
                out,
                "[more than {LIST_MAX_ENTRIES} entries; list a subfolder]"
            );
        } else if count == 0 {
            out.push_str("[no files]\n");
        }
        Ok(out)
    }

    fn search(&self, query: &str, given: Option<&str>, regex: bool) -> Result<String, String> {
        if query.is_empty() {
            return Err("the query is empty".to_owned());
        }
        let pattern = if regex {
            query.to_owned()
        } else {
            regex::escape(query)
        };
        let insensitive = !query.chars().any(char::is_uppercase);
        let matcher = regex::RegexBuilder::new(&pattern)
            .case_insensitive(insensitive)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| format!("invalid regular expression: {e}"))?;
        let under = match given {
            Some(g) => self.resolve(g)?,
            None => self.folder(None)?,
        };
        let mut out = String::new();
        let mut matches = 0;
        let mut files = 0;
        let mut bytes = 0u64;
        let mut more = false;
        'files: for entry in self.walk(&under, None).flatten() {
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            files += 1;
            if files > SEARCH_MAX_FILES || bytes > SEARCH_MAX_BYTES {
                more = true;
                break;
            }
            let path = entry.path();
            // Excluded, outside, unreadable, binary or very large files are
            // skipped silently: they are not the model's to see.
            let cap = self.max_file_bytes.min(SEARCH_FILE_MAX_BYTES);
            let Ok((text, truncated)) = self.text_capped(path, cap) else {
                continue;
            };
            if truncated {
                continue;
            }
            bytes += text.len() as u64;
            for (k, line) in text.lines().enumerate() {
                if !matcher.is_match(line) {
                    continue;
                }
                if matches == SEARCH_MAX_MATCHES {
                    more = true;
                    break 'files;
                }
                let line = redact(line);
                let shown: String = line.trim_end().chars().take(SEARCH_LINE_CHARS).collect();
                let _ = writeln!(out, "{}:{}: {shown}", self.shown(path), k + 1);
                matches += 1;
            }
        }
        if more {
            let _ = writeln!(
                out,
                "[more results not shown; narrow the query or the path]"
            );
        } else if matches == 0 {
            out.push_str("[no matches]\n");
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::assist::Exclusions;

    fn context<'a>(
        policy: &'a WorkspacePolicy,
        root: &'a Path,
        open: &'a (dyn Fn(&Path) -> Option<String> + Sync),
    ) -> ToolContext<'a> {
        ToolContext {
            policy,
            root: Some(root),
            max_file_bytes: 1 << 20,
            open_text: open,
        }
    }

    fn policy(root: &Path) -> WorkspacePolicy {
        let exclusions =
            Exclusions::new(&crate::config::default_excludes()).unwrap_or_else(|e| panic!("{e}"));
        WorkspacePolicy::new([root.to_path_buf()], Arc::new(exclusions))
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    }

    fn run(ctx: &ToolContext<'_>, name: &str, args: Value) -> String {
        let request = ToolRequest::parse(name, &args.to_string()).unwrap_or_else(|e| panic!("{e}"));
        ctx.run(&request)
    }

    #[test]
    fn reads_numbered_lines_and_ranges() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().canonicalize().unwrap_or_else(|e| panic!("{e}"));
        write(&root, "src/a.py", "one\ntwo\nthree\n");
        let policy = policy(&root);
        let none = |_: &Path| None;
        let ctx = context(&policy, &root, &none);
        let out = run(
            &ctx,
            "read_file",
            json!({"path": "src/a.py", "start_line": 2}),
        );
        assert_eq!(
            out,
            "     2\ttwo\n     3\tthree\n[src/a.py lines 2–3 of 3]\n"
        );
        let out = run(
            &ctx,
            "read_file",
            json!({"path": "src/a.py", "start_line": 9}),
        );
        assert!(out.starts_with("refused: "), "{out}");
    }

    #[test]
    fn open_documents_come_from_the_editor() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().canonicalize().unwrap_or_else(|e| panic!("{e}"));
        write(&root, "a.py", "on disk\n");
        let policy = policy(&root);
        let file = root.join("a.py");
        let open = move |p: &Path| (p == file).then(|| "unsaved\n".to_owned());
        let ctx = context(&policy, &root, &open);
        let out = run(&ctx, "read_file", json!({"path": "a.py"}));
        assert!(out.contains("unsaved") && !out.contains("on disk"), "{out}");
        let out = run(&ctx, "search", json!({"query": "unsaved"}));
        assert!(out.contains("a.py:1: unsaved"), "{out}");
    }

    #[test]
    fn refused_paths_say_why_and_show_nothing() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().canonicalize().unwrap_or_else(|e| panic!("{e}"));
        write(&root, ".env", "API_KEY=sk-live-secret\n");
        write(&root, ".git/config", "[core]\n");
        let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write(outside.path(), "x.txt", "outside-secret\n");
        let policy = policy(&root);
        let none = |_: &Path| None;
        let ctx = context(&policy, &root, &none);
        let far = outside.path().join("x.txt").display().to_string();
        for args in [
            json!({"path": ".env"}),
            json!({"path": ".git/config"}),
            json!({"path": "../x.txt"}),
            json!({"path": far}),
        ] {
            let out = run(&ctx, "read_file", args.clone());
            assert!(out.starts_with("refused: "), "{args}: {out}");
            assert!(!out.contains("secret") && !out.contains("[core]"), "{out}");
        }
        let out = run(&ctx, "search", json!({"query": "secret"}));
        assert_eq!(out, "[no matches]\n");
        let out = run(&ctx, "list_files", json!({}));
        assert!(!out.contains(".env") && !out.contains(".git"), "{out}");
    }

    #[test]
    fn search_respects_gitignore_and_lists_path_line_text() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().canonicalize().unwrap_or_else(|e| panic!("{e}"));
        write(&root, ".gitignore", "target/\n");
        write(&root, "src/lib.rs", "fn parse_header() {}\nfn other() {}\n");
        write(&root, "target/gen.rs", "fn parse_header() {}\n");
        let policy = policy(&root);
        let none = |_: &Path| None;
        let ctx = context(&policy, &root, &none);
        let out = run(&ctx, "search", json!({"query": "parse_header"}));
        assert_eq!(out, "src/lib.rs:1: fn parse_header() {}\n");
        let out = run(
            &ctx,
            "search",
            json!({"query": "fn (p|o)", "regex": true, "path": "src"}),
        );
        assert_eq!(out.lines().count(), 2, "{out}");
        let out = run(&ctx, "list_files", json!({}));
        assert_eq!(out, ".gitignore\nsrc/\nsrc/lib.rs\n");
    }

    #[test]
    fn secrets_are_redacted_as_in_the_prompt() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().canonicalize().unwrap_or_else(|e| panic!("{e}"));
        let key = format!("sk-proj-{}", "a".repeat(40));
        write(&root, "settings.py", &format!("KEY = \"{key}\"\n"));
        let policy = policy(&root);
        let none = |_: &Path| None;
        let ctx = context(&policy, &root, &none);
        for (name, args) in [
            ("read_file", json!({"path": "settings.py"})),
            ("search", json!({"query": "KEY"})),
        ] {
            let out = run(&ctx, name, args);
            assert!(out.contains("[REDACTED"), "{out}");
            assert!(!out.contains(&key), "{out}");
        }
    }

    #[test]
    fn bad_arguments_are_answered() {
        assert!(ToolRequest::parse("read_file", "{}").is_err());
        assert!(ToolRequest::parse("read_file", "not json").is_err());
        assert!(ToolRequest::parse("rm", "{}").is_err());
        assert_eq!(
            ToolRequest::parse("list_files", ""),
            Ok(ToolRequest::ListFiles { path: None })
        );
    }
}
