//! Context building: the prompt sent for one action, under a token budget.
//!
//! Layout, stable parts first so two actions on the same file share a long
//! cacheable prefix:
//!
//! 1. `instructions` — one text for every action and file (role, reply
//!    grammar, rules); the per-action wording lives in the task.
//! 2. the input: AGENTS.md files (root first, nearest last, 32 KiB cap),
//!    optionally other open documents, then the file with its path and
//!    language, the header/imports and the target region between explicit
//!    markers;
//! 3. last, the task: the target region repeated and its diagnostics (the
//!    same for every action on that spot, so the shared prefix runs into the
//!    task), then what to do and the user's instruction.
//!
//! The budget is `maxContextTokens` counted with o200k. The mandatory parts
//! are the instructions, the task and the region; then AGENTS.md; then the
//! rest of the file grows line by line around the region (the header stays);
//! other open documents come only when the whole file fits. The room left for
//! the task is a fixed allowance rather than its exact size, so the file window
//! (and thus the prefix) is the same whichever action is asked.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ropey::{Rope, RopeSlice};
use sha2::{Digest, Sha256};

use crate::assist::action::ActionKind;
use crate::assist::error::{AssistError, display_path};
use crate::assist::privacy::{Exclusions, looks_binary, redact};
use crate::assist::region::{Region, RegionKind};
use crate::assist::tokens::{count_line, count_tokens};
use crate::config::Settings;

/// Total bytes of AGENTS.md text sent (the same cap as Codex's
/// `project_doc_max_bytes`).
pub const AGENTS_MAX_BYTES: usize = 32 * 1024;
/// Tokens set aside for the task on top of the region, whatever the action.
pub const TASK_ALLOWANCE: usize = 1024;
/// Longest header (imports, module docs) kept when the file is trimmed.
const HEADER_MAX_LINES: usize = 80;
/// Tokens kept free for wrappers, omission notes and counting slack.
const SLACK_TOKENS: usize = 64;

/// A diagnostic as the assist core needs it (byte range, no protocol types).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiagnosticInfo {
    /// Byte range in the document.
    pub range: Range<usize>,
    /// `error`, `warning`, `information` or `hint`.
    pub severity: Option<String>,
    /// The diagnostic code, e.g. `E0308`.
    pub code: Option<String>,
    /// Who reported it, e.g. `rustc`.
    pub source: Option<String>,
    /// The message.
    pub message: String,
    /// Related locations, already rendered.
    pub related: Vec<RelatedInfo>,
}

/// A related location of a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RelatedInfo {
    /// Rendered location, e.g. `src/lib.rs:12:5`.
    pub location: String,
    /// What it says.
    pub message: String,
}

/// One AGENTS.md file: project instructions written for coding agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentsFile {
    /// Where it was read from (absolute).
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// The file went on past what was read (the total cap was reached), so
    /// the prompt says the model sees only its beginning.
    pub truncated: bool,
}

/// Everything needed to build the prompt for one action.
#[derive(Debug, Clone)]
pub struct ContextRequest<'a> {
    /// Workspace root, if the editor opened a folder.
    pub workspace_root: Option<&'a Path>,
    /// Absolute path of the document.
    pub file_path: &'a Path,
    /// LSP language id.
    pub language_id: &'a str,
    /// The snapshot text; edits will be computed against exactly this text.
    pub text: &'a Rope,
    /// Where the action applies (see [`crate::assist::target_region`]).
    pub region: Region,
    /// The action.
    pub action: ActionKind,
    /// What the user typed (rewrite), if anything.
    pub instruction: Option<&'a str>,
    /// Diagnostics of the document (those in the region are sent; for a fix,
    /// all of them).
    pub diagnostics: &'a [DiagnosticInfo],
    /// AGENTS.md files, root first (read through the workspace policy,
    /// `WorkspacePolicy::agents_md`).
    pub agents_md: Vec<AgentsFile>,
    /// Other open documents `(absolute path, text)`, sent only when
    /// `includeOpenDocuments` is on and the budget allows.
    pub other_documents: Vec<(PathBuf, String)>,
    /// Settings in force.
    pub settings: &'a Settings,
}

/// A rendered prompt, ready for the model client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The `instructions` field: identical for every action and file.
    pub instructions: String,
    /// The user message: context first, task last.
    pub input: String,
    /// Stable per workspace, so every action there hits the same cache.
    pub prompt_cache_key: String,
    /// The region the edits are expected in (bytes of the snapshot).
    pub region: Range<usize>,
    /// o200k tokens of instructions plus input.
    pub tokens: usize,
    /// The path as the model sees it (workspace-relative, `/` separators).
    pub rel_path: String,
    /// Byte range of the file included around the region (the header aside).
    pub file_window: Range<usize>,
    /// Other open documents included.
    pub documents_included: usize,
    /// Whether AGENTS.md text was included.
    pub agents_included: bool,
}

/// The path as shown to the model: workspace-relative with `/` separators, or
/// the file name when there is no root (or the file lies outside it).
pub fn relative_path(root: Option<&Path>, path: &Path) -> String {
    if let Some(rel) = root.and_then(|r| path.strip_prefix(r).ok()) {
        let parts: Vec<_> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if !parts.is_empty() {
            return parts.join("/");
        }
    }
    path.file_name()
        .map_or_else(|| display_path(path), |n| n.to_string_lossy().into_owned())
}

fn truncate(s: &str, max: usize) -> &str {
    &s[..crate::text::floor_char_boundary(s, max)]
}

/// The `instructions` text: one for all actions, so it always caches.
pub fn instructions(edit_tools: bool) -> &'static str {
    if edit_tools {
        INSTRUCTIONS_WITH_TOOLS
    } else {
        INSTRUCTIONS
    }
}

/// The patch grammar and its rules, the same in both instruction texts.
macro_rules! patch_format {
    () => {
        r#"*** Begin Patch
*** Update File: <path>
@@ <optional: a line that appears once, above the change, e.g. the enclosing function's signature>
 <context line, starting with one space>
-<removed line, starting with ->
+<added line, starting with +>
 <context line>
@@ <next hunk of the same file>
...
*** Add File: <new path>
+<every line of the new file, each starting with +>
*** End Patch

Rules: paths are workspace-relative with / separators, exactly as shown in the file header; hunks of a file are in file order and must not overlap; context and removed lines must match the file exactly, including indentation; use several small hunks rather than one large one; a hunk that touches the last line of the file may end with the line "*** End of File"."#
    };
}

/// How the user message is laid out, and the explain rules.
macro_rules! message_layout {
    () => {
        r#"The user message holds, in order: project instructions from AGENTS.md files (follow them; nearer folders take precedence), possibly other open files, the current file, and last the task. The task names the code it is about by its line numbers in the file and repeats it. Parts of a long file may be omitted and shown as "[… lines N–M omitted …]". Secrets were replaced by [REDACTED:kind] placeholders: never write a placeholder into a file, and leave lines holding one untouched."#
    };
}

macro_rules! explain_tasks {
    () => {
        r#"## Explain tasks

Answer in Markdown, no patch: first a one-sentence summary, then the inputs, outputs, side effects and pitfalls worth knowing, in about the number of words the task gives. Refer to code with `inline code`; quote at most a few lines.
"#
    };
}

/// Instructions when the answer text carries the patch (no tools).
const INSTRUCTIONS: &str = concat!(
    "You are Codex, a coding assistant working inside the user's editor through a language server. You cannot run commands or read other files; everything you know is in the user message.\n\n",
    message_layout!(),
    "\n\n## Edit tasks\n\nAnswer with exactly one patch in the apply_patch format and nothing else: no prose, no whole-file rewrite. Change only what the task needs, keep the surrounding style, and give each change about 3 lines of unchanged context before and after, copied exactly from the file. The grammar:\n\n",
    patch_format!(),
    " Only update the current file unless the task asks for another one; add a file only when asked for a new file. Never delete, rename or move files.\n\n",
    explain_tasks!(),
);

/// Instructions when edit tasks have the workspace tools and edit through
/// the `apply_patch` tool.
const INSTRUCTIONS_WITH_TOOLS: &str = concat!(
    "You are Codex, a coding assistant working inside the user's editor through a language server. For edit tasks, and explain tasks the user asks for, you have read-only tools: read_file, search and list_files, over the workspace folders (some files are excluded and will be refused). You cannot run commands.\n\n",
    message_layout!(),
    "\n\n## Edit tasks\n\nWhen the task needs code you cannot see (a definition in another file, the callers of a function), read or search for it first, briefly: a few calls. Then edit by calling the apply_patch tool with exactly one patch: no prose, no whole-file rewrite. Change only what the task needs, keep the surrounding style, and give each change about 3 lines of unchanged context before and after, copied exactly from the file. If the tool answers that the patch did not apply, fix the patch and call it again. The format:\n\n",
    patch_format!(),
    " Update other files only when the task needs it, and only files you have read; add a file only when asked for a new file. Never delete, rename or move files.\n\n",
    explain_tasks!(),
    "When an explain task offers the read-only tools, use them only if the code's meaning depends on a definition you cannot see (a call or two), then answer.\n",
);

/// Per-action wording of the task.
fn action_text(action: ActionKind, settings: &Settings) -> String {
    match action {
        ActionKind::Rewrite => "Rewrite the target code as the user instructs below. Keep its behaviour except where the instruction asks otherwise.".to_owned(),
        ActionKind::Simplify => "Simplify the target code: remove duplication and needless complexity, use clearer names and idioms of the language, without changing its behaviour or public interface.".to_owned(),
        ActionKind::Document => "Add documentation comments to the target code in the idiomatic style of the language (for example /// in Rust, docstrings in Python, JSDoc in JavaScript and TypeScript, Javadoc in Java): say what each item does and why, its parameters, return value, errors and panics. Do not change any code.".to_owned(),
        ActionKind::ErrorHandling => "Add error handling to the target code: handle or propagate the failures its operations can have, in the idiomatic way of the language and of the surrounding code (for example Result and ? in Rust, exceptions in Python and Java, returned errors in Go). Do not swallow errors silently.".to_owned(),
        ActionKind::Tests => "Generate unit tests for the target code, covering its normal cases, edge cases and failures. Put them in the file's existing test module if it has one (or add one, the way the language usually does, e.g. #[cfg(test)] mod tests in Rust); when the language keeps tests in separate files, add a new test file next to this one with the usual naming. Use only the test framework the file already uses or the language's standard one.".to_owned(),
        ActionKind::Fix => "Fix the diagnostics listed below with the smallest correct change to the target code. Fix the cause, not the symptom; do not silence the diagnostic.".to_owned(),
        ActionKind::Explain => format!(
            "Explain the target code to a developer reading it, in about {} words.",
            settings.explain.max_words
        ),
    }
}

/// Whether a line is part of a file's header: blank, a comment, or an
/// import/package/include-like statement.
fn is_header_line(line: &str) -> bool {
    let t = line.trim();
    const PREFIXES: &[&str] = &[
        "//",
        "/*",
        "*",
        "#!",
        "#include",
        "#import",
        "#pragma",
        "# ",
        "#\t",
        "\"\"\"",
        "'''",
        "use ",
        "pub use ",
        "extern crate ",
        "mod ",
        "pub mod ",
        "import ",
        "from ",
        "package ",
        "require",
        "const ",
        "\"use ",
        "'use ",
        "using ",
        "#[",
        "#![",
        "--",
    ];
    t.is_empty()
        || t == "#"
        || t == ")"
        || PREFIXES.iter().any(|p| t.starts_with(p))
        || (t.starts_with('"') && t.ends_with('"'))
}

fn line_str<'r>(slice: RopeSlice<'r>) -> Cow<'r, str> {
    match slice.as_str() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(slice.to_string()),
    }
}

/// Lines `[0, n)` of the header, stopping at the first code line (an open
/// `import (` … `)` group continues).
fn header_lines(text: &Rope) -> usize {
    let mut n = 0;
    let mut depth = 0i32;
    for (i, line) in text.lines().enumerate().take(HEADER_MAX_LINES) {
        let l = line_str(line);
        if depth > 0 || is_header_line(&l) {
            depth += l.matches('(').count() as i32 - l.matches(')').count() as i32;
            depth = depth.max(0);
            n = i + 1;
        } else {
            break;
        }
    }
    // Trailing blank lines are not worth sending.
    while n > 0 && line_str(text.line(n - 1)).trim().is_empty() {
        n -= 1;
    }
    n.min(text.len_lines())
}

/// Whether `line` lies inside a PEM private-key block (looking a little way
/// back), so a window starting there is redacted whole.
fn inside_key_block(text: &Rope, line: usize) -> bool {
    for l in (line.saturating_sub(200)..line).rev() {
        let s = line_str(text.line(l));
        if s.contains("PRIVATE KEY-----") {
            return s.contains("-----BEGIN");
        }
    }
    false
}

fn redact_window(text: &Rope, first_line: usize, s: &str) -> String {
    if inside_key_block(text, first_line) && !s.contains("-----END") {
        return format!("{}private-key]\n", crate::assist::privacy::REDACTION_PREFIX);
    }
    redact(s).into_owned()
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

/// Renders one diagnostic line, with 1-based line:column in characters.
fn render_diagnostic(text: &Rope, d: &DiagnosticInfo, out: &mut String) {
    let len = text.len_bytes();
    let start = d.range.start.min(len);
    let ch = text.byte_to_char(start);
    let line = text.char_to_line(ch);
    let col = ch - text.line_to_char(line);
    let mut head = d
        .severity
        .clone()
        .unwrap_or_else(|| "diagnostic".to_owned());
    if let Some(code) = &d.code {
        let _ = write!(head, "[{code}]");
    }
    if let Some(source) = &d.source {
        let _ = write!(head, " ({source})");
    }
    let _ = writeln!(
        out,
        "- line {}:{} {head}: {}",
        line + 1,
        col + 1,
        d.message.trim()
    );
    for r in &d.related {
        let _ = writeln!(out, "  - related {}: {}", r.location, r.message.trim());
    }
}

/// Builds the prompt for one action. Refuses excluded, binary and oversized
/// files, and a region that cannot fit the budget.
pub fn build_prompt(req: &ContextRequest<'_>) -> Result<Prompt, AssistError> {
    let settings = req.settings;
    let text = req.text;
    let rel_path = relative_path(req.workspace_root, req.file_path);
    let exclusions = Exclusions::cached(&settings.exclude)?;
    if let Some(pattern) = exclusions.excluded(&rel_path) {
        return Err(AssistError::Excluded {
            path: rel_path,
            pattern: pattern.to_owned(),
        });
    }
    let bytes = text.len_bytes() as u64;
    if bytes > settings.max_file_bytes {
        return Err(AssistError::TooLarge {
            path: rel_path,
            bytes,
            limit: settings.max_file_bytes,
        });
    }
    if crate::text::has_nul(text) {
        return Err(AssistError::Binary { path: rel_path });
    }

    // Region, clamped to the text and to character boundaries.
    let len = text.len_bytes();
    let snap = |o: usize| text.char_to_byte(text.byte_to_char(o.min(len)));
    let region =
        snap(req.region.range.start)..snap(req.region.range.end.max(req.region.range.start));
    let region_first = text.byte_to_line(region.start);
    let region_last = text.byte_to_line(region.end);
    let region_text = text.byte_slice(region.clone()).to_string();
    let lang = req.language_id;

    // The task, last.
    let task = render_task(
        req,
        &rel_path,
        &region,
        region_first,
        region_last,
        &region_text,
    );
    let instructions = instructions(settings.edit_tool().has_tools());
    let instr_tokens = count_tokens(instructions)?;
    let task_tokens = count_tokens(&task)?;
    let region_tokens = count_tokens(&region_text)?;
    let task_allow = task_tokens.max(region_tokens + TASK_ALLOWANCE);
    let budget = settings.max_context_tokens as usize;

    // The file: header, then the region, then as much around it as fits.
    let header_n = header_lines(text);
    let mut header_tokens = 0;
    for l in 0..header_n {
        header_tokens += count_line(&line_str(text.line(l)))?;
    }
    let mandatory = instr_tokens + task_allow + region_tokens + SLACK_TOKENS;
    if instr_tokens + task_tokens + region_tokens + SLACK_TOKENS > budget {
        return Err(AssistError::RegionTooLarge {
            needed: instr_tokens + task_tokens + region_tokens + SLACK_TOKENS,
            budget,
        });
    }
    let mut room = budget.saturating_sub(mandatory);
    let keep_header = header_tokens <= room;
    if keep_header {
        room -= header_tokens;
    }
    let header_n = if keep_header { header_n } else { 0 };

    // AGENTS.md, root first.
    let agents = render_agents(req)?;
    let agents_tokens = count_tokens(&agents)?;
    let agents_included = !agents.is_empty() && agents_tokens <= room;
    if agents_included {
        room -= agents_tokens;
    }

    // Grow the window line by line around the region.
    let total_lines = text.len_lines();
    let mut first = region_first;
    let mut last = region_last;
    // Lines of the region are already paid for. The window may grow up to
    // the separately kept header; when the region starts inside or right
    // after the header, the window itself covers the header and grows to 0.
    let floor = if first > header_n { header_n } else { 0 };
    let mut up_open = first > floor;
    let mut down_open = last + 1 < total_lines;
    let mut go_up = true;
    // Lines walked in order (no lookup from the root per line): above
    // yields `first - 1` downwards, below `last + 1` onwards; a direction
    // closes at the first line that does not fit, so none is skipped.
    let mut above = text.lines_at(first);
    let mut below = text.lines_at(last + 1);
    while up_open || down_open {
        let upward = (go_up && up_open) || !down_open;
        let candidate = if upward { first - 1 } else { last + 1 };
        let line = if upward { above.prev() } else { below.next() };
        let line = line.unwrap_or_else(|| text.line(candidate));
        let cost = count_line(&line_str(line))?;
        if cost <= room {
            room -= cost;
            if upward {
                first = candidate;
                up_open = first > floor;
            } else {
                last = candidate;
                down_open = last + 1 < total_lines;
            }
        } else if upward {
            up_open = false;
        } else {
            down_open = false;
        }
        go_up = !go_up;
    }
    let whole_file = first == 0 && last + 1 >= total_lines;

    // Other open documents, only when the whole file fits.
    let mut documents = String::new();
    let mut documents_included = 0;
    if settings.include_open_documents && whole_file {
        for (path, doc) in &req.other_documents {
            if path == req.file_path
                || doc.len() as u64 > settings.max_file_bytes
                || looks_binary(doc)
            {
                continue;
            }
            let rel = relative_path(req.workspace_root, path);
            if exclusions.excluded(&rel).is_some() {
                continue;
            }
            let rendered = format!(
                "<open_document path=\"{}\">\n{}{}</open_document>\n\n",
                escape_attr(&rel),
                redact(doc),
                if doc.ends_with('\n') || doc.is_empty() {
                    ""
                } else {
                    "\n"
                }
            );
            let cost = count_tokens(&rendered)?;
            if cost <= room {
                room -= cost;
                documents.push_str(&rendered);
                documents_included += 1;
            }
        }
    }

    // Render.
    let window_start = text.line_to_byte(first);
    let window_end = if last + 1 >= total_lines {
        len
    } else {
        text.line_to_byte(last + 1)
    };
    let mut input =
        String::with_capacity((window_end - window_start) + task.len() + agents.len() + 512);
    if agents_included {
        input.push_str(&agents);
    }
    input.push_str(&documents);
    // A final line break does not start another line for the reader.
    let shown_lines = if len > 0 && text.byte(len - 1) == b'\n' {
        total_lines - 1
    } else {
        total_lines
    };
    let _ = writeln!(
        input,
        "<file path=\"{}\" language=\"{}\" lines=\"{}\">",
        escape_attr(&rel_path),
        escape_attr(lang),
        shown_lines
    );
    if header_n > 0 && first >= header_n {
        let header = text.byte_slice(0..text.line_to_byte(header_n)).to_string();
        input.push_str(&redact(&header));
        if first > header_n {
            let _ = writeln!(input, "[… lines {}–{} omitted …]", header_n + 1, first);
        }
    } else if first > 0 {
        let _ = writeln!(input, "[… lines 1–{first} omitted …]");
    }
    // The file goes in unmarked, so its text is the same whichever region
    // an action targets: every action on the file shares this prefix with
    // the prompt cache. The task names the region by lines and repeats it.
    let window = text.byte_slice(window_start..window_end).to_string();
    input.push_str(&redact_window(text, first, &window));
    if !input.ends_with('\n') {
        input.push('\n');
    }
    if last + 1 < total_lines {
        let _ = writeln!(input, "[… lines {}–{} omitted …]", last + 2, shown_lines);
    }
    input.push_str("</file>\n\n");
    input.push_str(&task);

    let tokens = instr_tokens + count_tokens(&input)?;
    Ok(Prompt {
        instructions: instructions.to_owned(),
        input,
        prompt_cache_key: cache_key(req.workspace_root, req.file_path),
        region,
        tokens,
        rel_path,
        file_window: window_start..window_end,
        documents_included,
        agents_included,
    })
}

/// The note closing an AGENTS.md the model sees only the beginning of.
fn truncation_note() -> String {
    format!(
        "[… AGENTS.md truncated: AGENTS.md files are capped at {AGENTS_MAX_BYTES} bytes in total …]\n"
    )
}

fn render_agents(req: &ContextRequest<'_>) -> Result<String, AssistError> {
    let mut out = String::new();
    let mut total = 0;
    for file in &req.agents_md {
        let room = AGENTS_MAX_BYTES.saturating_sub(total);
        if room == 0 {
            break;
        }
        let body = truncate(&file.text, room);
        total += body.len();
        // Cut here or when read: either way the model must not take the
        // beginning for the whole of the project's instructions.
        let truncated = file.truncated || body.len() < file.text.len();
        let rel = relative_path(req.workspace_root, &file.path);
        let _ = write!(
            out,
            "<agents_md path=\"{}\">\n{}{}{}</agents_md>\n\n",
            escape_attr(&rel),
            redact(body),
            if body.ends_with('\n') { "" } else { "\n" },
            if truncated {
                truncation_note()
            } else {
                String::new()
            }
        );
    }
    Ok(out)
}

fn render_task(
    req: &ContextRequest<'_>,
    rel_path: &str,
    region: &Range<usize>,
    first: usize,
    last: usize,
    region_text: &str,
) -> String {
    // Same for every action on this spot first (target, diagnostics), so the
    // cacheable prefix runs into the task; the action's wording comes last.
    let mut t = String::new();
    t.push_str("<task>\n");
    let what = match &req.region.kind {
        RegionKind::Selection => "the user's selection".to_owned(),
        other => other.describe(),
    };
    let _ = writeln!(
        t,
        "Target: {what}, lines {}–{} of `{rel_path}` (repeated from the file above):",
        first + 1,
        last + 1
    );
    let fence = if region_text.contains("```") {
        "~~~~"
    } else {
        "```"
    };
    let _ = write!(t, "{fence}{}\n{}", req.language_id, redact(region_text));
    if !region_text.ends_with('\n') {
        t.push('\n');
    }
    let _ = writeln!(t, "{fence}");
    let diagnostics: Vec<&DiagnosticInfo> = req
        .diagnostics
        .iter()
        .filter(|d| {
            req.action == ActionKind::Fix
                || (d.range.start <= region.end && d.range.end >= region.start)
        })
        .collect();
    if !diagnostics.is_empty() {
        t.push_str("\nDiagnostics:\n");
        let mut list = String::new();
        for d in diagnostics {
            render_diagnostic(req.text, d, &mut list);
        }
        t.push_str(&redact(&list));
    }
    let _ = writeln!(t, "\nAction: {}", req.action.id());
    t.push_str(&action_text(req.action, req.settings));
    t.push('\n');
    if let Some(instruction) = req.instruction.map(str::trim).filter(|s| !s.is_empty()) {
        let _ = writeln!(t, "\nInstruction from the user:\n{}", redact(instruction));
    }
    if req.action.produces_edits() && req.settings.edit_tool().has_tools() {
        t.push_str(
            "\nAnswer by calling apply_patch with one patch (*** Begin Patch … *** End Patch).\n",
        );
    } else if req.action.produces_edits() {
        t.push_str("\nAnswer with one apply_patch block only (*** Begin Patch … *** End Patch).\n");
    } else {
        t.push_str("\nAnswer in Markdown only.\n");
    }
    t.push_str("</task>\n");
    t
}

/// A stable key per workspace (or per folder without one): every action there
/// shares the server-side prompt cache.
pub fn cache_key(workspace_root: Option<&Path>, file_path: &Path) -> String {
    let scope = match workspace_root {
        Some(root) => root.to_path_buf(),
        None => file_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    let digest = Sha256::digest(format!("codex-lsp/1\0{}", display_path(&scope)).as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("codex-lsp-{hex}")
}
