//! Tidy: ARCHITECTURE.md's dependency rules and the wire contract of
//! docs/protocol.md, checked on the source text (std only, no parsing crate).
//!
//! Rules, one test each:
//!
//! 1. the core (`assist/`, `model/`, `text`, `document`, `config`) never names
//!    protocol types (`tower_lsp_server`, `ls_types`, `lsp_types`) nor the
//!    protocol edge (`crate::{lsp, handlers, server, state, session}`);
//! 2. only `model/` names `reqwest` and `eventsource_stream`;
//! 3. `assist/` never imports `crate::model`, `model/` never `crate::assist`;
//! 4. nothing in `handlers/` imports the dispatch module `crate::server`;
//! 5. every Rust source file opens with a `//!` inner doc comment;
//! 6. the module import graph of `server/src` has no cycle;
//! 7. every command, method, code action kind, action id and setting of
//!    `lsp/ext.rs`/`config.rs` is in docs/protocol.md, and vice versa.
//!
//! Source is lexed into tokens first, so comments and string literals never
//! count as code. Paths are resolved the way rustc does for the cases we use:
//! `crate::`, `super::` (relative to the file's module and any inline `mod`),
//! `self::`, `use` groups over several lines, names bound by `use` and then
//! used inline (`use crate::handlers;` … `handlers::hover::hover(…)`), child
//! modules named bare, and re-exports (`crate::assist::ActionKind` is followed
//! to `crate::assist::action::ActionKind`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// One source or documentation file.
#[derive(Debug, Clone)]
struct SourceFile {
    /// Path relative to the workspace root, `/`-separated.
    rel: String,
    text: String,
}

impl SourceFile {
    fn new(rel: &str, text: &str) -> Self {
        Self {
            rel: rel.to_owned(),
            text: text.to_owned(),
        }
    }
}

const SRC: &str = "server/src/";

/// Directories whose `.rs` files must open with `//!` (rule 5).
const DOC_DIRS: &[&str] = &[
    "server/src",
    "server/tests",
    "server/benches",
    "tests/src",
    "tests/tests",
    "tests/benches",
];

/// Directories holding data rather than code.
const DATA_DIRS: &[&str] = &["fixtures", "snapshots", "target"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("server/ lives in the workspace")
        .to_path_buf()
}

fn read(root: &Path, rel: &str) -> SourceFile {
    let text = std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    SourceFile::new(rel, &text)
}

/// Every `.rs` file under `dir` (relative to `root`), sorted.
fn rust_files(root: &Path, dir: &str) -> Vec<SourceFile> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("readable directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !DATA_DIRS.contains(&name) {
                    walk(root, &path, out);
                }
            } else if name.ends_with(".rs") {
                out.push(path.strip_prefix(root).expect("under root").to_path_buf());
            }
        }
    }
    let mut paths = Vec::new();
    walk(root, &root.join(dir), &mut paths);
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let rel: Vec<_> = p
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            read(root, &rel.join("/"))
        })
        .collect()
}

struct Workspace {
    /// `server/src/**.rs`.
    src: Vec<SourceFile>,
    /// Every file rule 5 looks at.
    documented: Vec<SourceFile>,
    /// `docs/protocol.md`.
    docs: SourceFile,
}

fn workspace() -> &'static Workspace {
    static WS: OnceLock<Workspace> = OnceLock::new();
    WS.get_or_init(|| {
        let root = workspace_root();
        Workspace {
            src: rust_files(&root, "server/src"),
            documented: DOC_DIRS.iter().flat_map(|d| rust_files(&root, d)).collect(),
            docs: read(&root, "docs/protocol.md"),
        }
    })
}

impl Workspace {
    fn file(&self, rel: &str) -> Option<&SourceFile> {
        self.src.iter().find(|f| f.rel == rel)
    }
}

// ---------------------------------------------------------------------------
// Violations
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    /// `file:line`.
    at: String,
    message: String,
}

impl Violation {
    fn new(file: &str, line: usize, message: impl Into<String>) -> Self {
        Self {
            at: format!("{file}:{line}"),
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Fails with every violation of `rule` in one message.
fn assert_clean(rule: &str, mut violations: Vec<Violation>) {
    violations.sort();
    violations.dedup();
    if violations.is_empty() {
        return;
    }
    let mut msg = format!(
        "tidy: {rule}: {} violation{} (see ARCHITECTURE.md)\n",
        violations.len(),
        if violations.len() == 1 { "" } else { "s" }
    );
    for v in &violations {
        let _ = writeln!(msg, "  {v}");
    }
    panic!("{msg}");
}

// ---------------------------------------------------------------------------
// Lexer: comments dropped, string literals kept apart from code
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// A string literal's raw contents (escapes not decoded).
    Str(String),
    /// `::`
    PathSep,
    Punct(char),
    /// Numbers, char literals, lifetimes.
    Literal,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Reads a `"…"` literal whose contents start at `i`; returns the contents
/// and the index after the closing quote.
fn lex_quoted(c: &[char], mut i: usize, line: &mut usize) -> (String, usize) {
    let mut s = String::new();
    while i < c.len() {
        match c[i] {
            '\\' => {
                s.push('\\');
                if let Some(&next) = c.get(i + 1) {
                    if next == '\n' {
                        *line += 1;
                    }
                    s.push(next);
                }
                i += 2;
            }
            '"' => return (s, i + 1),
            ch => {
                if ch == '\n' {
                    *line += 1;
                }
                s.push(ch);
                i += 1;
            }
        }
    }
    (s, i)
}

/// Reads a char literal or lifetime starting at the `'` at `i`; returns the
/// index after it.
fn lex_quote(c: &[char], i: usize) -> usize {
    if c.get(i + 1) == Some(&'\\') {
        // Escaped char: skip the escaped character, then up to the closing quote.
        let mut j = i + 3;
        while j < c.len() && c[j] != '\'' && c[j] != '\n' {
            j += 1;
        }
        return j + 1;
    }
    if c.get(i + 2) == Some(&'\'') {
        return i + 3;
    }
    // Lifetime or label.
    let mut j = i + 1;
    while j < c.len() && is_ident_continue(c[j]) {
        j += 1;
    }
    j
}

/// Tokens of Rust source; comments vanish, strings become [`Tok::Str`].
fn lex(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0usize;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            let start = line;
            let (s, next) = lex_quoted(&c, i + 1, &mut line);
            out.push(Token {
                tok: Tok::Str(s),
                line: start,
            });
            i = next;
        } else if ch == '\'' {
            out.push(Token {
                tok: Tok::Literal,
                line,
            });
            i = lex_quote(&c, i);
        } else if is_ident_start(ch) {
            let start = i;
            while i < c.len() && is_ident_continue(c[i]) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let next = c.get(i).copied();
            if matches!(word.as_str(), "r" | "br" | "cr") && matches!(next, Some('"' | '#')) {
                let mut j = i;
                let mut hashes = 0;
                while c.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if c.get(j) == Some(&'"') {
                    // Raw string: up to `"` followed by as many `#`.
                    let start_line = line;
                    j += 1;
                    let body = j;
                    while j < c.len()
                        && !(c[j] == '"' && (0..hashes).all(|k| c.get(j + 1 + k) == Some(&'#')))
                    {
                        if c[j] == '\n' {
                            line += 1;
                        }
                        j += 1;
                    }
                    out.push(Token {
                        tok: Tok::Str(c[body..j.min(c.len())].iter().collect()),
                        line: start_line,
                    });
                    i = (j + 1 + hashes).min(c.len());
                    continue;
                }
                if word == "r" && hashes == 1 && c.get(j).is_some_and(|&x| is_ident_start(x)) {
                    // Raw identifier `r#type`.
                    let s = j;
                    while j < c.len() && is_ident_continue(c[j]) {
                        j += 1;
                    }
                    out.push(Token {
                        tok: Tok::Ident(c[s..j].iter().collect()),
                        line,
                    });
                    i = j;
                    continue;
                }
            }
            if matches!(word.as_str(), "b" | "c") && next == Some('"') {
                let start_line = line;
                let (s, after) = lex_quoted(&c, i + 1, &mut line);
                out.push(Token {
                    tok: Tok::Str(s),
                    line: start_line,
                });
                i = after;
                continue;
            }
            if word == "b" && next == Some('\'') {
                out.push(Token {
                    tok: Tok::Literal,
                    line,
                });
                i = lex_quote(&c, i);
                continue;
            }
            out.push(Token {
                tok: Tok::Ident(word),
                line,
            });
        } else if ch.is_ascii_digit() {
            while i < c.len()
                && (is_ident_continue(c[i])
                    || (c[i] == '.' && c.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Literal,
                line,
            });
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(Token {
                tok: Tok::PathSep,
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                tok: Tok::Punct(ch),
                line,
            });
            i += 1;
        }
    }
    out
}

fn tok(toks: &[Token], i: usize) -> Option<&Tok> {
    toks.get(i).map(|t| &t.tok)
}

fn is_punct(toks: &[Token], i: usize, c: char) -> bool {
    tok(toks, i) == Some(&Tok::Punct(c))
}

fn ident(toks: &[Token], i: usize) -> Option<&str> {
    match tok(toks, i) {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

/// Index after the bracket group opening at `open` (`(`, `[` or `{`).
fn skip_group(toks: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < toks.len() {
        match toks[i].tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Reads an attribute `#[…]`/`#![…]` at `i`: its inner tokens and the index after it.
fn read_attr(toks: &[Token], i: usize) -> Option<(Vec<Token>, usize)> {
    if !is_punct(toks, i, '#') {
        return None;
    }
    let open = if is_punct(toks, i + 1, '!') {
        i + 2
    } else {
        i + 1
    };
    if !is_punct(toks, open, '[') {
        return None;
    }
    let end = skip_group(toks, open);
    Some((toks[open + 1..end.saturating_sub(1)].to_vec(), end))
}

/// The tokens without `#[cfg(test)] mod … { … }` blocks.
fn without_test_modules(toks: &[Token]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if let Some((attr, mut j)) = read_attr(toks, i) {
            let is_cfg_test = matches!(
                attr.iter().map(|t| &t.tok).collect::<Vec<_>>()[..],
                [Tok::Ident(a), Tok::Punct('('), Tok::Ident(b), Tok::Punct(')')] if a == "cfg" && b == "test"
            );
            if is_cfg_test {
                while let Some((_, next)) = read_attr(toks, j) {
                    j = next;
                }
                if ident(toks, j) == Some("pub") {
                    j += 1;
                    if is_punct(toks, j, '(') {
                        j = skip_group(toks, j);
                    }
                }
                if ident(toks, j) == Some("mod") && is_punct(toks, j + 2, '{') {
                    i = skip_group(toks, j + 2);
                    continue;
                }
            }
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------
// Paths: what a file names in this crate
// ---------------------------------------------------------------------------

/// Module path of a file under `server/src/`: `lib.rs` is the root,
/// `foo/mod.rs` and `foo.rs` are `foo`, `foo/bar.rs` is `foo::bar`.
fn module_path(rel_in_src: &str) -> Vec<String> {
    let stem = rel_in_src.strip_suffix(".rs").unwrap_or(rel_in_src);
    let mut segs: Vec<String> = stem.split('/').map(str::to_owned).collect();
    let last = segs.last().map(String::as_str);
    if last == Some("mod") || (segs.len() == 1 && matches!(last, Some("lib" | "main"))) {
        segs.pop();
    }
    segs
}

/// One crate path named by a file, resolved to segments below the crate root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ref {
    path: Vec<String>,
    line: usize,
    /// The path as written.
    text: String,
}

#[derive(Debug, Default)]
struct FileRefs {
    refs: Vec<Ref>,
    /// Names bound by file-level `use` items (what the module re-exports to
    /// paths going through it), to their resolved paths.
    exports: HashMap<String, Vec<String>>,
}

/// One leaf of a `use` tree.
#[derive(Debug)]
struct UseLeaf {
    segs: Vec<String>,
    alias: Option<String>,
    glob: bool,
    line: usize,
}

/// Parses a use tree at `*j` (after `use`), appending its leaves.
fn parse_use_tree(toks: &[Token], j: &mut usize, prefix: Vec<String>, out: &mut Vec<UseLeaf>) {
    let mut segs = prefix;
    if tok(toks, *j) == Some(&Tok::PathSep) {
        *j += 1;
    }
    loop {
        match tok(toks, *j) {
            Some(Tok::Punct('{')) => {
                *j += 1;
                loop {
                    match tok(toks, *j) {
                        Some(Tok::Punct('}')) => {
                            *j += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *j += 1,
                        None | Some(Tok::Punct(';')) => return,
                        _ => {
                            let before = *j;
                            parse_use_tree(toks, j, segs.clone(), out);
                            if *j == before {
                                *j += 1;
                            }
                        }
                    }
                }
            }
            Some(Tok::Punct('*')) => {
                out.push(UseLeaf {
                    segs,
                    alias: None,
                    glob: true,
                    line: toks[*j].line,
                });
                *j += 1;
                return;
            }
            Some(Tok::Ident(s)) => {
                let line = toks[*j].line;
                segs.push(s.clone());
                *j += 1;
                if tok(toks, *j) == Some(&Tok::PathSep) {
                    *j += 1;
                    continue;
                }
                let mut alias = None;
                if ident(toks, *j) == Some("as") {
                    alias = ident(toks, *j + 1).map(str::to_owned);
                    *j += 2;
                }
                out.push(UseLeaf {
                    segs,
                    alias,
                    glob: false,
                    line,
                });
                return;
            }
            _ => return,
        }
    }
}

/// Resolves a path as written in `module` to segments below the crate root;
/// `None` for paths outside the crate (std, dependencies, locals).
fn resolve(
    segs: &[String],
    module: &[String],
    bindings: &HashMap<String, Vec<String>>,
    is_module: &dyn Fn(&[String]) -> bool,
) -> Option<Vec<String>> {
    let first = segs.first()?;
    let (mut base, rest) = match first.as_str() {
        "crate" => (Vec::new(), &segs[1..]),
        "self" => (module.to_vec(), &segs[1..]),
        "super" => {
            let mut base = module.to_vec();
            let mut k = 0;
            while segs.get(k).map(String::as_str) == Some("super") {
                base.pop()?;
                k += 1;
            }
            (base, &segs[k..])
        }
        name => {
            if let Some(bound) = bindings.get(name) {
                (bound.clone(), &segs[1..])
            } else {
                let mut child = module.to_vec();
                child.push(name.to_owned());
                if !is_module(&child) {
                    return None;
                }
                (child, &segs[1..])
            }
        }
    };
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    Some(base)
}

/// Every crate path a file names: `use` trees and inline paths.
fn extract_refs(
    toks: &[Token],
    module: &[String],
    is_module: &dyn Fn(&[String]) -> bool,
) -> FileRefs {
    let mut out = FileRefs::default();
    let mut bindings: HashMap<String, Vec<String>> = HashMap::new();
    // Inline `mod name { … }` blocks: name and the brace depth inside.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let mut here = module.to_vec();
        here.extend(inline.iter().map(|(m, _)| m.clone()));
        let after_sep = i > 0 && matches!(toks[i - 1].tok, Tok::PathSep | Tok::Punct('.'));
        match &toks[i].tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(kw) if kw == "mod" && is_punct(toks, i + 2, '{') => {
                if let Some(name) = ident(toks, i + 1) {
                    depth += 1;
                    inline.push((name.to_owned(), depth));
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(kw) if kw == "use" && !after_sep => {
                let mut leaves = Vec::new();
                let mut j = i + 1;
                parse_use_tree(toks, &mut j, Vec::new(), &mut leaves);
                for leaf in leaves {
                    let Some(path) = resolve(&leaf.segs, &here, &bindings, is_module) else {
                        continue;
                    };
                    let shown = match leaf.segs.split_last() {
                        Some((last, init)) if last == "self" => init,
                        _ => &leaf.segs[..],
                    };
                    let mut text = shown.join("::");
                    if leaf.glob {
                        text.push_str("::*");
                    }
                    if !leaf.glob {
                        let name = leaf
                            .alias
                            .clone()
                            .or_else(|| leaf.segs.iter().rev().find(|s| *s != "self").cloned());
                        if let Some(name) =
                            name.filter(|n| n != "_" && n != "crate" && n != "super")
                        {
                            if inline.is_empty() {
                                out.exports.insert(name.clone(), path.clone());
                            }
                            bindings.insert(name, path.clone());
                        }
                    }
                    out.refs.push(Ref {
                        path,
                        line: leaf.line,
                        text,
                    });
                }
                i = j;
                continue;
            }
            Tok::Ident(first) if !after_sep && tok(toks, i + 1) == Some(&Tok::PathSep) => {
                let mut segs = vec![first.clone()];
                let mut j = i + 1;
                while tok(toks, j) == Some(&Tok::PathSep) {
                    match ident(toks, j + 1) {
                        Some(s) => {
                            segs.push(s.to_owned());
                            j += 2;
                        }
                        None => break,
                    }
                }
                if let Some(path) = resolve(&segs, &here, &bindings, is_module) {
                    out.refs.push(Ref {
                        path,
                        line: toks[i].line,
                        text: segs.join("::"),
                    });
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// One library file of `server/src`, analysed.
struct Analysed {
    rel: String,
    module: Vec<String>,
    toks: Vec<Token>,
    /// Crate paths it names, each as resolved and as followed through re-exports.
    refs: Vec<(Ref, Vec<String>)>,
}

/// Lexes and resolves every library file (`main.rs` is the binary's root and
/// names the library as `codex_lsp`, so its tokens are kept but no paths).
fn analyse(files: &[SourceFile]) -> Vec<Analysed> {
    let modules: BTreeSet<Vec<String>> = files
        .iter()
        .filter(|f| f.rel != format!("{SRC}main.rs"))
        .filter_map(|f| f.rel.strip_prefix(SRC).map(module_path))
        .collect();
    let is_module = |p: &[String]| modules.contains(p);
    let mut parsed = Vec::new();
    let mut exports: HashMap<Vec<String>, HashMap<String, Vec<String>>> = HashMap::new();
    for f in files {
        let Some(in_src) = f.rel.strip_prefix(SRC) else {
            continue;
        };
        let module = module_path(in_src);
        let toks = lex(&f.text);
        let refs = if in_src == "main.rs" {
            FileRefs::default()
        } else {
            extract_refs(&toks, &module, &is_module)
        };
        if in_src != "main.rs" {
            exports.insert(module.clone(), refs.exports.clone());
        }
        parsed.push((f.rel.clone(), module, toks, refs.refs));
    }
    parsed
        .into_iter()
        .map(|(rel, module, toks, refs)| Analysed {
            rel,
            module,
            toks,
            refs: refs
                .into_iter()
                .map(|r| {
                    let followed = follow_reexports(&r.path, &exports);
                    (r, followed)
                })
                .collect(),
        })
        .collect()
}

/// Follows `use` re-exports: `crate::assist::ActionKind` is where
/// `assist/mod.rs`'s `pub use action::ActionKind` points.
fn follow_reexports(
    path: &[String],
    exports: &HashMap<Vec<String>, HashMap<String, Vec<String>>>,
) -> Vec<String> {
    let mut p = path.to_vec();
    for _ in 0..16 {
        let mut next = None;
        // The longest prefix that is a module decides what the next segment is.
        for k in (0..p.len()).rev() {
            if let Some(names) = exports.get(&p[..k]) {
                if let Some(target) = names.get(&p[k]) {
                    let mut np = target.clone();
                    np.extend_from_slice(&p[k + 1..]);
                    if np != p {
                        next = Some(np);
                    }
                }
                break;
            }
        }
        match next {
            Some(np) => p = np,
            None => break,
        }
    }
    p
}

fn in_dir(rel: &str, dir: &str) -> bool {
    rel.starts_with(&format!("{SRC}{dir}/"))
}

/// Both the written and the re-export-followed path start with one of `roots`?
fn names_module<'a>(resolved: &Ref, followed: &[String], roots: &[&'a str]) -> Option<&'a str> {
    roots.iter().copied().find(|root| {
        resolved.path.first().map(String::as_str) == Some(root)
            || followed.first().map(String::as_str) == Some(root)
    })
}

// ---------------------------------------------------------------------------
// Rules 1–4: who may name what
// ---------------------------------------------------------------------------

const PROTOCOL_CRATES: &[&str] = &["tower_lsp_server", "ls_types", "lsp_types"];
const EDGE_MODULES: &[&str] = &[
    "lsp", "handlers", "server", "state", "session", "progress", "failure",
];
const HTTP_CRATES: &[&str] = &["reqwest", "eventsource_stream"];

fn is_core(rel: &str) -> bool {
    in_dir(rel, "assist")
        || in_dir(rel, "model")
        || [
            SRC.to_owned() + "text.rs",
            SRC.to_owned() + "document.rs",
            SRC.to_owned() + "config.rs",
            SRC.to_owned() + "workspace.rs",
            SRC.to_owned() + "tools.rs",
            SRC.to_owned() + "price.rs",
        ]
        .iter()
        .any(|f| f == rel)
}

/// Rule 1: the core names neither protocol crates nor the protocol edge.
fn check_core_is_protocol_free(files: &[Analysed]) -> Vec<Violation> {
    let mut v = Vec::new();
    for f in files.iter().filter(|f| is_core(&f.rel)) {
        for t in &f.toks {
            if let Tok::Ident(name) = &t.tok
                && PROTOCOL_CRATES.contains(&name.as_str())
            {
                v.push(Violation::new(
                    &f.rel,
                    t.line,
                    format!("core module names `{name}`"),
                ));
            }
        }
        for (r, followed) in &f.refs {
            if let Some(m) = names_module(r, followed, EDGE_MODULES) {
                v.push(Violation::new(
                    &f.rel,
                    r.line,
                    format!("core module names `crate::{m}` (`{}`)", r.text),
                ));
            }
        }
    }
    v
}

/// Rule 2: only `model/` names the HTTP crates.
fn check_http_only_in_model(files: &[Analysed]) -> Vec<Violation> {
    let mut v = Vec::new();
    for f in files.iter().filter(|f| !in_dir(&f.rel, "model")) {
        for t in &f.toks {
            if let Tok::Ident(name) = &t.tok
                && HTTP_CRATES.contains(&name.as_str())
            {
                v.push(Violation::new(
                    &f.rel,
                    t.line,
                    format!("`{name}` outside model/"),
                ));
            }
        }
    }
    v
}

/// Rule 3: `assist/` and `model/` do not import each other.
fn check_assist_model_apart(files: &[Analysed]) -> Vec<Violation> {
    let mut v = Vec::new();
    for f in files {
        let other = if in_dir(&f.rel, "assist") {
            "model"
        } else if in_dir(&f.rel, "model") {
            "assist"
        } else {
            continue;
        };
        for (r, followed) in &f.refs {
            if names_module(r, followed, &[other]).is_some() {
                v.push(Violation::new(
                    &f.rel,
                    r.line,
                    format!("imports `crate::{other}` (`{}`)", r.text),
                ));
            }
        }
    }
    v
}

/// Rule 4: handlers never import the dispatch module.
fn check_handlers_skip_dispatch(files: &[Analysed]) -> Vec<Violation> {
    let mut v = Vec::new();
    for f in files.iter().filter(|f| in_dir(&f.rel, "handlers")) {
        for (r, followed) in &f.refs {
            if names_module(r, followed, &["server"]).is_some() {
                v.push(Violation::new(
                    &f.rel,
                    r.line,
                    format!("imports the dispatch module (`{}`)", r.text),
                ));
            }
        }
    }
    v
}

// ---------------------------------------------------------------------------
// Rule 5: `//!` first
// ---------------------------------------------------------------------------

fn check_inner_docs(files: &[SourceFile]) -> Vec<Violation> {
    files
        .iter()
        .filter_map(|f| {
            match f
                .text
                .lines()
                .enumerate()
                .find(|(_, l)| !l.trim().is_empty())
            {
                Some((_, l)) if l.trim_start().starts_with("//!") => None,
                Some((n, l)) => Some(Violation::new(
                    &f.rel,
                    n + 1,
                    format!(
                        "does not open with a `//!` doc comment (first line: `{}`)",
                        l.trim()
                    ),
                )),
                None => Some(Violation::new(
                    &f.rel,
                    1,
                    "empty file: no `//!` doc comment",
                )),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Rule 6: no import cycle
// ---------------------------------------------------------------------------

/// Modules whose children are graph nodes of their own.
const SPLIT_MODULES: &[&str] = &["handlers", "lsp"];

/// Graph node of a module path: the top-level module, or `handlers::x` /
/// `lsp::x`; items of the root (and the root itself) are `crate`.
fn node_of(path: &[String], is_module: &dyn Fn(&[String]) -> bool) -> String {
    match path {
        [top, sub, ..] if SPLIT_MODULES.contains(&top.as_str()) && is_module(&path[..2]) => {
            format!("{top}::{sub}")
        }
        [top, ..] if is_module(&path[..1]) => top.clone(),
        _ => "crate".to_owned(),
    }
}

/// Whether `b` is `a` or lies inside it (a module using its own children is
/// containment, not a dependency).
fn contains(a: &str, b: &str) -> bool {
    a == b || a == "crate" || b.starts_with(&format!("{a}::"))
}

#[derive(Debug, Clone)]
struct Evidence {
    file: String,
    line: usize,
    text: String,
}

type Graph = BTreeMap<String, BTreeMap<String, Vec<Evidence>>>;

fn import_graph(files: &[Analysed]) -> Graph {
    let modules: BTreeSet<&[String]> = files
        .iter()
        .filter(|f| f.rel != format!("{SRC}main.rs"))
        .map(|f| f.module.as_slice())
        .collect();
    let is_module = |p: &[String]| modules.contains(p);
    let mut graph = Graph::new();
    for f in files.iter().filter(|f| f.rel != format!("{SRC}main.rs")) {
        let from = node_of(&f.module, &is_module);
        graph.entry(from.clone()).or_default();
        for (r, followed) in &f.refs {
            let to = node_of(followed, &is_module);
            if contains(&from, &to) {
                continue;
            }
            graph
                .entry(from.clone())
                .or_default()
                .entry(to)
                .or_default()
                .push(Evidence {
                    file: f.rel.clone(),
                    line: r.line,
                    text: r.text.clone(),
                });
        }
    }
    graph
}

/// Strongly connected components with more than one node (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: HashMap<&'g str, usize>,
        low: HashMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flat_map(|e| e.keys()) {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                scc.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.out.push(scc);
            }
        }
    }
    let mut s = State {
        graph,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: Vec<&str> = graph
        .iter()
        .flat_map(|(k, e)| std::iter::once(k.as_str()).chain(e.keys().map(String::as_str)))
        .collect();
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out.sort();
    s.out
}

/// A shortest cycle through `start` inside `scc`, as `[start, …, start]`.
fn shortest_cycle(graph: &Graph, scc: &[String], start: &str) -> Vec<String> {
    let mut prev: HashMap<&str, &str> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in graph.get(v).into_iter().flat_map(|e| e.keys()) {
            if !scc.contains(w) {
                continue;
            }
            if w == start {
                let mut path = vec![start.to_owned()];
                let mut at = v;
                while at != start {
                    path.push(at.to_owned());
                    at = prev[at];
                }
                path.push(start.to_owned());
                path.reverse();
                return path;
            }
            if !prev.contains_key(w.as_str()) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    Vec::new()
}

fn check_no_cycles(files: &[Analysed]) -> Vec<Violation> {
    let graph = import_graph(files);
    let mut v = Vec::new();
    for scc in cycles(&graph) {
        let inside = |a: &String, b: &String| scc.contains(a) && scc.contains(b);
        // Start from the node with the most edges inside the component.
        let degree = |n: &String| {
            graph
                .iter()
                .flat_map(|(a, e)| e.keys().map(move |b| (a, b)))
                .filter(|(a, b)| inside(a, b) && (*a == n || *b == n))
                .count()
        };
        let hub = scc
            .iter()
            .max_by_key(|n| (degree(n), std::cmp::Reverse(*n)))
            .expect("non-empty");
        let cycle = shortest_cycle(&graph, &scc, hub);
        let mut msg = format!(
            "import cycle among {} modules {{{}}}: {}",
            scc.len(),
            scc.join(", "),
            cycle.join(" -> ")
        );
        msg.push_str("\n    edges inside the cycle:");
        let mut first = None;
        for (a, edges) in &graph {
            for (b, ev) in edges.iter().filter(|(b, _)| inside(a, b)) {
                let e = &ev[0];
                first.get_or_insert((e.file.clone(), e.line));
                let more = if ev.len() > 1 {
                    format!(" (+{} more)", ev.len() - 1)
                } else {
                    String::new()
                };
                let _ = write!(
                    msg,
                    "\n      {a} -> {b}: {}:{} `{}`{more}",
                    e.file, e.line, e.text
                );
            }
        }
        let (file, line) = first.unwrap_or_default();
        v.push(Violation::new(&file, line, msg));
    }
    v
}

// ---------------------------------------------------------------------------
// Rule 7: wire contract ↔ docs/protocol.md
// ---------------------------------------------------------------------------

/// A name of the wire contract and where it is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Named {
    name: String,
    what: &'static str,
    file: String,
    line: usize,
}

/// A struct or enum with named members.
#[derive(Debug)]
struct Item {
    name: String,
    is_enum: bool,
    attrs: Vec<Vec<Token>>,
    members: Vec<Member>,
}

/// A field (struct) or variant (enum).
#[derive(Debug)]
struct Member {
    name: String,
    attrs: Vec<Vec<Token>>,
    /// Identifiers after the name (the field's type).
    ty: Vec<String>,
    line: usize,
}

/// Members of a `{ … }` body whose first token is at `j`; returns them and
/// the index after the closing brace.
fn parse_members(toks: &[Token], mut j: usize) -> (Vec<Member>, usize) {
    let mut members = Vec::new();
    loop {
        let mut attrs = Vec::new();
        while let Some((attr, next)) = read_attr(toks, j) {
            attrs.push(attr);
            j = next;
        }
        match tok(toks, j) {
            None => return (members, j),
            Some(Tok::Punct('}')) => return (members, j + 1),
            _ => {}
        }
        if ident(toks, j) == Some("pub") {
            j += 1;
            if is_punct(toks, j, '(') {
                j = skip_group(toks, j);
            }
        }
        let name = ident(toks, j).map(str::to_owned);
        let line = toks.get(j).map_or(0, |t| t.line);
        j += 1;
        let mut ty = Vec::new();
        let mut depth = 0i32;
        let mut closed = false;
        while let Some(t) = tok(toks, j) {
            match t {
                Tok::Punct('(' | '[' | '{' | '<') => depth += 1,
                Tok::Punct('>') if !is_punct(toks, j - 1, '-') => depth -= 1,
                Tok::Punct(')' | ']') => depth -= 1,
                Tok::Punct('}') if depth <= 0 => {
                    closed = true;
                    break;
                }
                Tok::Punct('}') => depth -= 1,
                Tok::Punct(',') if depth <= 0 => break,
                Tok::Ident(s) => ty.push(s.clone()),
                _ => {}
            }
            j += 1;
        }
        if let Some(name) = name {
            members.push(Member {
                name,
                attrs,
                ty,
                line,
            });
        }
        if closed {
            return (members, j + 1);
        }
        j += 1;
    }
}

/// Structs and enums with braced bodies, with their attributes.
fn parse_items(toks: &[Token]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut pending: Vec<Vec<Token>> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if let Some((attr, next)) = read_attr(toks, i) {
            pending.push(attr);
            i = next;
            continue;
        }
        match &toks[i].tok {
            Tok::Ident(kw) if kw == "struct" || kw == "enum" => {
                let is_enum = kw == "enum";
                if let Some(name) = ident(toks, i + 1) {
                    let mut j = i + 2;
                    let mut angle = 0i32;
                    while let Some(t) = tok(toks, j) {
                        match t {
                            Tok::Punct('<') => angle += 1,
                            Tok::Punct('>') => angle -= 1,
                            Tok::Punct('{' | ';' | '(') if angle <= 0 => break,
                            _ => {}
                        }
                        j += 1;
                    }
                    if is_punct(toks, j, '{') {
                        let (members, end) = parse_members(toks, j + 1);
                        items.push(Item {
                            name: name.to_owned(),
                            is_enum,
                            attrs: std::mem::take(&mut pending),
                            members,
                        });
                        i = end;
                        continue;
                    }
                }
                pending.clear();
            }
            // Visibility keeps the attributes for the item that follows.
            Tok::Ident(kw) if matches!(kw.as_str(), "pub" | "crate" | "in" | "super" | "self") => {}
            Tok::Punct('(' | ')') | Tok::PathSep => {}
            _ => pending.clear(),
        }
        i += 1;
    }
    items
}

/// `#[serde(…)]` options: `rename_all = "camelCase"`, `skip`, …; for
/// `rename(deserialize = "x")` the deserialize name.
fn serde_options(attrs: &[Vec<Token>]) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for attr in attrs {
        if ident(attr, 0) != Some("serde") || !is_punct(attr, 1, '(') {
            continue;
        }
        let end = skip_group(attr, 1).saturating_sub(1);
        let mut i = 2;
        while i < end {
            if let Some(key) = ident(attr, i) {
                let value = if is_punct(attr, i + 1, '=') {
                    match tok(attr, i + 2) {
                        Some(Tok::Str(s)) => Some(s.clone()),
                        _ => None,
                    }
                } else if is_punct(attr, i + 1, '(') {
                    let close = skip_group(attr, i + 1);
                    let inner = &attr[i + 2..close.saturating_sub(1)];
                    let de = (0..inner.len()).find(|&k| ident(inner, k) == Some("deserialize"));
                    let pick = de.map_or(0, |k| k + 2);
                    match tok(inner, pick) {
                        Some(Tok::Str(s)) => Some(s.clone()),
                        _ => inner.iter().find_map(|t| match &t.tok {
                            Tok::Str(s) => Some(s.clone()),
                            _ => None,
                        }),
                    }
                } else {
                    None
                };
                out.push((key.to_owned(), value));
            }
            // Next option.
            while i < end && !is_punct(attr, i, ',') {
                if is_punct(attr, i, '(') {
                    i = skip_group(attr, i);
                } else {
                    i += 1;
                }
            }
            i += 1;
        }
    }
    out
}

fn serde_value<'a>(opts: &'a [(String, Option<String>)], key: &str) -> Option<&'a str> {
    opts.iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.as_deref())
}

fn serde_flag(opts: &[(String, Option<String>)], key: &str) -> bool {
    opts.iter().any(|(k, _)| k == key)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn decapitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

/// serde's `rename_all` for a snake_case field name.
fn rename_field(name: &str, rule: Option<&str>) -> String {
    let pascal: String = name.split('_').map(capitalize).collect();
    match rule {
        Some("lowercase" | "snake_case") | None => name.to_owned(),
        Some("UPPERCASE" | "SCREAMING_SNAKE_CASE") => name.to_uppercase(),
        Some("PascalCase") => pascal,
        Some("camelCase") => decapitalize(&pascal),
        Some("kebab-case") => name.replace('_', "-"),
        Some("SCREAMING-KEBAB-CASE") => name.replace('_', "-").to_uppercase(),
        Some(_) => name.to_owned(),
    }
}

/// serde's `rename_all` for a PascalCase variant name.
fn rename_variant(name: &str, rule: Option<&str>) -> String {
    let snake = || {
        let mut s = String::new();
        for (i, c) in name.chars().enumerate() {
            if i > 0 && c.is_uppercase() {
                s.push('_');
            }
            s.extend(c.to_lowercase());
        }
        s
    };
    match rule {
        Some("lowercase") => name.to_lowercase(),
        Some("UPPERCASE") => name.to_uppercase(),
        Some("camelCase") => decapitalize(name),
        Some("snake_case") => snake(),
        Some("SCREAMING_SNAKE_CASE") => snake().to_uppercase(),
        Some("kebab-case") => snake().replace('_', "-"),
        Some("SCREAMING-KEBAB-CASE") => snake().replace('_', "-").to_uppercase(),
        _ => name.to_owned(),
    }
}

/// Every setting of `config.rs`: the fields of `Settings`, nested structs
/// as dotted names (`explain.hover`).
fn config_settings(config: &SourceFile) -> Vec<Named> {
    fn walk(
        item: &Item,
        prefix: &str,
        structs: &HashMap<&str, &Item>,
        file: &str,
        depth: usize,
        out: &mut Vec<Named>,
    ) {
        let rename_all = serde_options(&item.attrs);
        let rename_all = serde_value(&rename_all, "rename_all");
        for m in &item.members {
            let opts = serde_options(&m.attrs);
            if serde_flag(&opts, "skip") || serde_flag(&opts, "skip_deserializing") {
                continue;
            }
            let name = serde_value(&opts, "rename")
                .map_or_else(|| rename_field(&m.name, rename_all), str::to_owned);
            let nested =
                m.ty.iter()
                    .find(|t| *t != &item.name && structs.contains_key(t.as_str()))
                    .and_then(|t| structs.get(t.as_str()));
            match nested {
                Some(inner) if depth < 8 => {
                    let inner_prefix = if serde_flag(&opts, "flatten") {
                        prefix.to_owned()
                    } else {
                        format!("{prefix}{name}.")
                    };
                    walk(inner, &inner_prefix, structs, file, depth + 1, out);
                }
                _ => out.push(Named {
                    name: format!("{prefix}{name}"),
                    what: "setting",
                    file: file.to_owned(),
                    line: m.line,
                }),
            }
        }
    }
    let toks = without_test_modules(&lex(&config.text));
    let items = parse_items(&toks);
    let structs: HashMap<&str, &Item> = items
        .iter()
        .filter(|i| !i.is_enum)
        .map(|i| (i.name.as_str(), i))
        .collect();
    let mut out = Vec::new();
    if let Some(root) = structs.get("Settings") {
        walk(root, "", &structs, &config.rel, 0, &mut out);
    }
    out
}

/// Commands (`codex.`), methods (`codex/`) and code action kinds (`.codex`)
/// among the string literals of `ext.rs`.
fn ext_wire_names(ext: &SourceFile) -> Vec<Named> {
    let mut out: Vec<Named> = Vec::new();
    for t in without_test_modules(&lex(&ext.text)) {
        let Tok::Str(s) = &t.tok else { continue };
        let what = if s.starts_with("codex.") {
            "command"
        } else if s.starts_with("codex/") {
            "method"
        } else if s.contains(".codex") {
            "code action kind"
        } else {
            continue;
        };
        if !out.iter().any(|n| &n.name == s) {
            out.push(Named {
                name: s.clone(),
                what,
                file: ext.rel.clone(),
                line: t.line,
            });
        }
    }
    out
}

/// Action ids: `id: "…"` fields and the variants of an `…Action…` enum in
/// `ext.rs` (serde names), plus the strings of `fn id` in `assist/action.rs`.
fn action_ids(ext: &SourceFile, action: Option<&SourceFile>) -> Vec<Named> {
    let mut out: Vec<Named> = Vec::new();
    let mut add = |name: &str, file: &str, line: usize| {
        if !out.iter().any(|n| n.name == name) {
            out.push(Named {
                name: name.to_owned(),
                what: "action id",
                file: file.to_owned(),
                line,
            });
        }
    };
    let toks = without_test_modules(&lex(&ext.text));
    for i in 0..toks.len() {
        if let (Some("id"), true, Some(Tok::Str(s))) = (
            ident(&toks, i),
            is_punct(&toks, i + 1, ':'),
            tok(&toks, i + 2),
        ) {
            add(s, &ext.rel, toks[i].line);
        }
    }
    for item in parse_items(&toks)
        .iter()
        .filter(|i| i.is_enum && i.name.contains("Action"))
    {
        let opts = serde_options(&item.attrs);
        let rule = serde_value(&opts, "rename_all");
        for v in &item.members {
            let vopts = serde_options(&v.attrs);
            if serde_flag(&vopts, "skip") || serde_flag(&vopts, "skip_deserializing") {
                continue;
            }
            let name = serde_value(&vopts, "rename")
                .map_or_else(|| rename_variant(&v.name, rule), str::to_owned);
            add(&name, &ext.rel, v.line);
        }
    }
    if let Some(action) = action {
        let toks = without_test_modules(&lex(&action.text));
        for i in 0..toks.len() {
            if ident(&toks, i) == Some("fn") && ident(&toks, i + 1) == Some("id") {
                let Some(open) = (i..toks.len()).find(|&k| is_punct(&toks, k, '{')) else {
                    break;
                };
                for t in &toks[open..skip_group(&toks, open)] {
                    if let Tok::Str(s) = &t.tok {
                        add(s, &action.rel, t.line);
                    }
                }
            }
        }
    }
    out
}

/// Markdown inline code spans (outside fenced blocks), with their lines.
fn code_spans(md: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence = false;
    for (n, line) in md.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fence = !fence;
            continue;
        }
        if !fence {
            out.extend(spans_in_line(line).into_iter().map(|s| (n + 1, s)));
        }
    }
    out
}

fn spans_in_line(line: &str) -> Vec<String> {
    let c: Vec<char> = line.chars().collect();
    let run = |i: usize| c[i..].iter().take_while(|&&x| x == '`').count();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i] != '`' {
            i += 1;
            continue;
        }
        let n = run(i);
        let body = i + n;
        let mut j = body;
        let mut close = None;
        while j < c.len() {
            if c[j] == '`' {
                let m = run(j);
                if m == n {
                    close = Some(j);
                    break;
                }
                j += m;
            } else {
                j += 1;
            }
        }
        match close {
            Some(j) => {
                out.push(c[body..j].iter().collect::<String>().trim().to_owned());
                i = j + n;
            }
            None => i = body,
        }
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

/// Name-like words of a code span: `client.commands["codex.runAction"]`
/// gives `client.commands` and `codex.runAction`.
fn words(span: &str) -> Vec<String> {
    span.split(|c: char| !is_word_char(c))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `a.{b,c}.d` → `a.b.d`, `a.c.d`.
fn brace_expand(s: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (s.find('{'), s.find('}')) else {
        return vec![s.to_owned()];
    };
    if close < open {
        return vec![s.to_owned()];
    }
    s[open + 1..close]
        .split(',')
        .flat_map(|alt| brace_expand(&format!("{}{}{}", &s[..open], alt.trim(), &s[close + 1..])))
        .collect()
}

/// Cells of a Markdown table row; `|` inside a code span does not split.
fn cells(row: &str) -> Vec<String> {
    let row = row.trim();
    let row = row.strip_prefix('|').unwrap_or(row);
    let row = row.strip_suffix('|').unwrap_or(row);
    let mut out = vec![String::new()];
    let mut in_code = false;
    for c in row.chars() {
        match c {
            '`' => {
                in_code = !in_code;
                out.last_mut().expect("one cell").push(c);
            }
            '|' if !in_code => out.push(String::new()),
            _ => out.last_mut().expect("one cell").push(c),
        }
    }
    out.iter().map(|c| c.trim().to_owned()).collect()
}

/// A Markdown table: header cells and `(line, cells)` rows.
struct Table {
    header: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

fn tables(md: &str) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    let mut fence = false;
    let mut current: Option<Table> = None;
    for (n, line) in md.lines().enumerate() {
        let t = line.trim();
        if t.starts_with("```") || t.starts_with("~~~") {
            fence = !fence;
        }
        if fence || !t.starts_with('|') {
            out.extend(current.take());
            continue;
        }
        match current.as_mut() {
            None => {
                current = Some(Table {
                    header: cells(t),
                    rows: Vec::new(),
                });
            }
            Some(table) => {
                if !t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ')) {
                    table.rows.push((n + 1, cells(t)));
                }
            }
        }
    }
    out.extend(current);
    out
}

fn check_docs(
    ext: &SourceFile,
    action: Option<&SourceFile>,
    config: &SourceFile,
    docs: &SourceFile,
) -> Vec<Violation> {
    let mut v = Vec::new();
    let wire = ext_wire_names(ext);
    let ids = action_ids(ext, action);
    let settings = config_settings(config);
    // Guard against the parser silently finding nothing.
    for (found, what, file) in [
        (
            wire.iter().any(|n| n.what == "command"),
            "commands",
            &ext.rel,
        ),
        (wire.iter().any(|n| n.what == "method"), "methods", &ext.rel),
        (
            wire.iter().any(|n| n.what == "code action kind"),
            "code action kinds",
            &ext.rel,
        ),
        (!ids.is_empty(), "action ids", &ext.rel),
        (
            !settings.is_empty(),
            "settings (struct `Settings`)",
            &config.rel,
        ),
    ] {
        if !found {
            v.push(Violation::new(
                file,
                1,
                format!("tidy found no {what} here; update tests/tidy.rs"),
            ));
        }
    }

    let doc_words: Vec<(usize, String)> = code_spans(&docs.text)
        .into_iter()
        .flat_map(|(line, span)| words(&span).into_iter().map(move |w| (line, w)))
        .collect();
    let documented: BTreeSet<&str> = doc_words.iter().map(|(_, w)| w.as_str()).collect();
    for n in wire.iter().chain(&ids) {
        if !documented.contains(n.name.as_str()) {
            v.push(Violation::new(
                &n.file,
                n.line,
                format!(
                    "{} `{}` is not in {} (as a backticked name)",
                    n.what, n.name, docs.rel
                ),
            ));
        }
    }

    let setting_names: BTreeSet<&str> = settings.iter().map(|n| n.name.as_str()).collect();
    for (line, w) in &doc_words {
        let is_codex_name = w.starts_with("codex.") || w.starts_with("codex/");
        let is_kind = w.contains(".codex");
        if !(is_codex_name || is_kind) {
            continue;
        }
        // A refactor's kind is derived: the kind prefix, a dot, the action id.
        let derived_kind = wire
            .iter()
            .filter(|n| n.what == "code action kind")
            .any(|n| {
                w.strip_prefix(n.name.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|id| ids.iter().any(|i| i.name == id))
            });
        let known = wire.iter().any(|n| &n.name == w)
            || derived_kind
            || w.strip_prefix("codex.")
                .is_some_and(|s| setting_names.contains(s));
        if !known {
            let what = if is_codex_name {
                "command or method"
            } else {
                "code action kind"
            };
            v.push(Violation::new(
                &docs.rel,
                *line,
                format!("`{w}` is not a {what} of {}", ext.rel),
            ));
        }
    }

    let all_tables = tables(&docs.text);
    // Action id column of the code action table.
    for table in &all_tables {
        let Some(col) = table
            .header
            .iter()
            .position(|h| h.eq_ignore_ascii_case("action id"))
        else {
            continue;
        };
        for (line, row) in &table.rows {
            for span in row.get(col).map(|c| spans_in_line(c)).unwrap_or_default() {
                if !ids.iter().any(|n| n.name == span) {
                    v.push(Violation::new(
                        &docs.rel,
                        *line,
                        format!("action id `{span}` is not an action id of {}", ext.rel),
                    ));
                }
            }
        }
    }

    // Settings table.
    match all_tables.iter().find(|t| {
        t.header
            .first()
            .is_some_and(|h| h.eq_ignore_ascii_case("setting"))
    }) {
        None => v.push(Violation::new(
            &docs.rel,
            1,
            "no settings table (`| setting | … |`)",
        )),
        Some(table) => {
            let mut rows: BTreeSet<String> = BTreeSet::new();
            for (line, row) in &table.rows {
                let names: Vec<String> = row
                    .first()
                    .map(|c| spans_in_line(c))
                    .unwrap_or_default()
                    .iter()
                    .flat_map(|s| brace_expand(s))
                    .collect();
                if names.is_empty() {
                    v.push(Violation::new(
                        &docs.rel,
                        *line,
                        "settings row without a backticked setting name",
                    ));
                }
                for name in names {
                    if !setting_names.contains(name.as_str()) {
                        v.push(Violation::new(
                            &docs.rel,
                            *line,
                            format!("setting `{name}` is not in {}", config.rel),
                        ));
                    }
                    rows.insert(name);
                }
            }
            for s in &settings {
                if !rows.contains(&s.name) {
                    v.push(Violation::new(
                        &s.file,
                        s.line,
                        format!(
                            "setting `{}` is not in the settings table of {}",
                            s.name, docs.rel
                        ),
                    ));
                }
            }
        }
    }
    v
}

// ---------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------

fn analysed() -> &'static [Analysed] {
    static A: OnceLock<Vec<Analysed>> = OnceLock::new();
    A.get_or_init(|| analyse(&workspace().src))
}

#[test]
fn rule1_core_names_no_protocol_types() {
    assert_clean(
        "rule 1 (assist/, model/, text, document, config never name protocol types or the protocol edge)",
        check_core_is_protocol_free(analysed()),
    );
}

#[test]
fn rule2_only_model_names_reqwest() {
    assert_clean(
        "rule 2 (only model/ names reqwest and eventsource_stream)",
        check_http_only_in_model(analysed()),
    );
}

#[test]
fn rule3_assist_and_model_do_not_import_each_other() {
    assert_clean(
        "rule 3 (assist/ and model/ do not import each other)",
        check_assist_model_apart(analysed()),
    );
}

#[test]
fn rule4_handlers_do_not_import_dispatch() {
    assert_clean(
        "rule 4 (nothing in handlers/ imports the dispatch module crate::server)",
        check_handlers_skip_dispatch(analysed()),
    );
}

#[test]
fn rule5_every_file_opens_with_inner_doc() {
    let ws = workspace();
    assert!(ws.documented.len() > 20, "tidy found too few files");
    assert_clean(
        "rule 5 (every source file opens with `//!`)",
        check_inner_docs(&ws.documented),
    );
}

#[test]
fn rule6_import_graph_has_no_cycle() {
    assert_clean(
        "rule 6 (the module import graph of server/src has no cycle)",
        check_no_cycles(analysed()),
    );
}

#[test]
fn rule7_wire_contract_matches_docs() {
    let ws = workspace();
    let ext = ws
        .file("server/src/lsp/ext.rs")
        .expect("server/src/lsp/ext.rs");
    let config = ws
        .file("server/src/config.rs")
        .expect("server/src/config.rs");
    assert_clean(
        "rule 7 (lsp/ext.rs and config.rs match docs/protocol.md)",
        check_docs(
            ext,
            ws.file("server/src/assist/action.rs"),
            config,
            &ws.docs,
        ),
    );
}

// ---------------------------------------------------------------------------
// The checker's own tests
// ---------------------------------------------------------------------------

/// Tests of the checker itself: lexing, path resolution, graph, parsing.
mod checker {
    use super::*;

    fn refs_of(rel: &str, src: &str, modules: &[&str]) -> Vec<(String, usize)> {
        let modules: BTreeSet<Vec<String>> = modules.iter().map(|m| module_path(m)).collect();
        let is_module = |p: &[String]| modules.contains(p);
        let module = module_path(rel);
        extract_refs(&lex(src), &module, &is_module)
            .refs
            .into_iter()
            .map(|r| (r.path.join("::"), r.line))
            .collect()
    }

    fn paths(refs: &[(String, usize)]) -> Vec<&str> {
        refs.iter().map(|(p, _)| p.as_str()).collect()
    }

    #[test]
    fn use_groups_over_lines_give_every_leaf() {
        let src = "use crate::{lsp::{ext,\n    to_proto},\n    server::Backend};\nfn f() {}\n";
        let refs = refs_of("handlers/hover.rs", src, &[]);
        assert_eq!(
            refs,
            vec![
                ("lsp::ext".to_owned(), 1),
                ("lsp::to_proto".to_owned(), 2),
                ("server::Backend".to_owned(), 3)
            ]
        );
    }

    #[test]
    fn comments_and_strings_are_not_code() {
        let src = r####"
            // use crate::server::Backend;
            /* crate::lsp /* nested */ crate::handlers */
            /// [`Backend`](crate::server::Backend)
            const A: &str = "crate::server::Backend";
            const B: &str = r#"crate::lsp::ext "quoted" "#;
            const C: char = '"';
            const D: &[u8] = b"crate::state";
            fn f<'a>(x: &'a str) -> char { let _ = (x, '\'', '\u{1F600}'); 'x' }
            use crate::text::TextEdit;
        "####;
        let refs = refs_of("assist/diff.rs", src, &[]);
        assert_eq!(paths(&refs), ["text::TextEdit"]);
        assert_eq!(refs[0].1, 10, "line numbers survive comments and strings");
        let names: Vec<_> = lex("// reqwest\nlet s = \"reqwest\";")
            .into_iter()
            .filter_map(|t| match t.tok {
                Tok::Ident(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["let", "s"]);
    }

    #[test]
    fn super_self_and_inline_paths_resolve_from_the_module() {
        let src = "use super::explain::{self, ExplainMode};\n\
                   use super::super::lsp::ext as e;\n\
                   fn f() { super::actions::run(); explain::go(); crate::config::Settings::default(); }\n\
                   #[cfg(test)]\nmod tests {\n    use super::*;\n    use super::super::progress;\n}\n";
        let refs = refs_of("handlers/hover.rs", src, &[]);
        assert_eq!(
            paths(&refs),
            [
                "handlers::explain",
                "handlers::explain::ExplainMode",
                "lsp::ext",
                "handlers::actions::run",
                "handlers::explain::go",
                "config::Settings::default",
                "handlers::hover",
                "handlers::progress",
            ]
        );
    }

    #[test]
    fn use_bound_names_and_child_modules_resolve() {
        let src = "use crate::handlers;\nuse std::sync::Arc;\nfn f() { handlers::hover::hover(); Arc::new(1); x.y::<T>(); }\n";
        let refs = refs_of("server.rs", src, &["handlers/mod.rs", "handlers/hover.rs"]);
        assert_eq!(paths(&refs), ["handlers", "handlers::hover::hover"]);
        // In a mod.rs, a bare child module is a crate path.
        let refs = refs_of(
            "handlers/mod.rs",
            "pub use hover::Thing;\n",
            &["handlers/mod.rs", "handlers/hover.rs"],
        );
        assert_eq!(paths(&refs), ["handlers::hover::Thing"]);
    }

    #[test]
    fn module_paths_of_files() {
        assert_eq!(module_path("lib.rs"), Vec::<String>::new());
        assert_eq!(module_path("handlers/mod.rs"), ["handlers"]);
        assert_eq!(module_path("handlers/hover.rs"), ["handlers", "hover"]);
        assert_eq!(module_path("text.rs"), ["text"]);
    }

    fn src(files: &[(&str, &str)]) -> Vec<SourceFile> {
        files
            .iter()
            .map(|(rel, text)| SourceFile::new(&format!("{SRC}{rel}"), text))
            .collect()
    }

    #[test]
    fn cycles_are_found_through_inline_paths_and_printed() {
        let files = src(&[
            (
                "lib.rs",
                "//! r\npub mod handlers;\npub mod server;\npub mod config;\npub use server::run;\n",
            ),
            (
                "handlers/mod.rs",
                "//! h\npub mod hover;\npub mod text_sync;\n",
            ),
            ("handlers/hover.rs", "//! h\nuse crate::server::Backend;\n"),
            (
                "handlers/text_sync.rs",
                "//! t\nuse crate::config::Settings;\n",
            ),
            (
                "server.rs",
                "//! s\nuse crate::handlers;\nfn f() { handlers::hover::hover(); handlers::text_sync::x(); }\n",
            ),
            ("config.rs", "//! c\nfn f() { crate::run(); }\n"),
        ]);
        let v = check_no_cycles(&analyse(&files));
        assert_eq!(v.len(), 1, "{v:#?}");
        let text = v[0].to_string();
        assert!(
            text.contains("import cycle among 4 modules {config, handlers::hover, handlers::text_sync, server}: server -> handlers::hover -> server"),
            "{text}"
        );
        // `crate::run` is followed through lib.rs's re-export to `server`.
        assert!(
            text.contains("config -> server: server/src/config.rs:2 `crate::run`"),
            "{text}"
        );
        assert!(
            text.contains(
                "handlers::hover -> server: server/src/handlers/hover.rs:2 `crate::server::Backend`"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "server -> handlers::text_sync: server/src/server.rs:3 `handlers::text_sync::x`"
            ),
            "{text}"
        );
    }

    #[test]
    fn parents_using_children_and_reexports_are_no_cycle() {
        let files = src(&[
            (
                "lib.rs",
                "//! r\npub mod assist;\npub mod handlers;\npub use handlers::run;\n",
            ),
            (
                "assist/mod.rs",
                "//! a\nmod action;\npub use action::ActionKind;\n",
            ),
            (
                "assist/action.rs",
                "//! a\nuse crate::assist::ActionKind as _;\nuse super::ActionKind;\n",
            ),
            (
                "handlers/mod.rs",
                "//! h\npub mod a;\npub mod b;\npub use a::Thing;\npub fn helper() {}\n",
            ),
            (
                "handlers/a.rs",
                "//! a\nuse super::helper;\npub struct Thing;\n",
            ),
            (
                "handlers/b.rs",
                "//! b\nuse super::Thing;\nuse crate::assist::ActionKind;\n",
            ),
        ]);
        let analysed = analyse(&files);
        assert!(check_no_cycles(&analysed).is_empty());
        let graph = import_graph(&analysed);
        assert!(
            graph["handlers::b"].contains_key("handlers::a"),
            "re-export followed: {graph:#?}"
        );
        assert!(graph["handlers::a"].contains_key("handlers"));
        assert!(!graph["handlers"].contains_key("handlers::a"));
    }

    #[test]
    fn dependency_rules_flag_each_breach() {
        let files = src(&[
            ("lib.rs", "//! r\n"),
            (
                "assist/mod.rs",
                "//! a\nuse crate::model::Client;\nuse tower_lsp_server::ls_types::Range;\n",
            ),
            (
                "model/mod.rs",
                "//! m\nuse reqwest::Client;\nfn f() { super::assist::go(); }\n",
            ),
            ("handlers/mod.rs", "//! h\npub mod hover;\n"),
            (
                "handlers/hover.rs",
                "//! h\nuse super::super::server::Backend;\nuse reqwest as _;\n",
            ),
            (
                "text.rs",
                "//! t\nuse crate::{lsp::ext, session::Session};\n",
            ),
            ("lsp/mod.rs", "//! l\npub mod ext;\n"),
            ("lsp/ext.rs", "//! e\n"),
            ("server.rs", "//! s\n"),
            ("session.rs", "//! s\n"),
        ]);
        let a = analyse(&files);
        let at = |v: Vec<Violation>| v.into_iter().map(|v| v.at).collect::<Vec<_>>();
        assert_eq!(
            at(check_core_is_protocol_free(&a)),
            [
                "server/src/assist/mod.rs:3",
                "server/src/assist/mod.rs:3",
                "server/src/text.rs:2",
                "server/src/text.rs:2"
            ]
        );
        assert_eq!(
            at(check_http_only_in_model(&a)),
            ["server/src/handlers/hover.rs:3"]
        );
        assert_eq!(
            at(check_assist_model_apart(&a)),
            ["server/src/assist/mod.rs:2", "server/src/model/mod.rs:3"]
        );
        assert_eq!(
            at(check_handlers_skip_dispatch(&a)),
            ["server/src/handlers/hover.rs:2"]
        );
    }

    #[test]
    fn inner_docs_are_required_first() {
        let files = [
            SourceFile::new("a.rs", "\n//! fine\n"),
            SourceFile::new("b.rs", "/// outer\n//! late\n"),
            SourceFile::new("c.rs", "#![allow(x)]\n//! late\n"),
        ];
        let at: Vec<_> = check_inner_docs(&files).into_iter().map(|v| v.at).collect();
        assert_eq!(at, ["b.rs:1", "c.rs:1"]);
    }

    #[test]
    fn serde_names() {
        assert_eq!(rename_field("api_key_env", Some("camelCase")), "apiKeyEnv");
        assert_eq!(rename_field("model", Some("camelCase")), "model");
        assert_eq!(
            rename_variant("ErrorHandling", Some("camelCase")),
            "errorHandling"
        );
        assert_eq!(
            rename_variant("ErrorHandling", Some("kebab-case")),
            "error-handling"
        );
        assert_eq!(rename_variant("Xhigh", Some("lowercase")), "xhigh");
    }

    #[test]
    fn settings_follow_serde_attributes() {
        let config = SourceFile::new(
            "server/src/config.rs",
            "#[derive(Deserialize)]\n#[serde(default, rename_all = \"camelCase\")]\npub struct Settings {\n\
             /// Doc.\n    pub base_url: String,\n    #[serde(rename = \"timeout\")]\n    pub request_timeout_ms: u64,\n\
             #[serde(skip)]\n    pub cache: Cache,\n    pub explain: ExplainSettings,\n    pub map: HashMap<String, Vec<u8>>,\n}\n\
             #[serde(rename_all = \"camelCase\")]\npub struct ExplainSettings { pub max_words: u32, pub hover: HoverMode }\n\
             pub enum HoverMode { Auto }\n\
             #[cfg(test)]\nmod tests { struct Settings { x: u8 } }\n",
        );
        let names: Vec<_> = config_settings(&config)
            .into_iter()
            .map(|n| (n.name, n.line))
            .collect();
        assert_eq!(
            names,
            [
                ("baseUrl".to_owned(), 5),
                ("timeout".to_owned(), 7),
                ("explain.maxWords".to_owned(), 14),
                ("explain.hover".to_owned(), 14),
                ("map".to_owned(), 11),
            ]
        );
    }

    #[test]
    fn action_ids_from_fields_enum_and_catalogue() {
        let ext = SourceFile::new(
            "server/src/lsp/ext.rs",
            "pub struct ListedAction { pub id: &'static str }\n\
             const A: &[ListedAction] = &[ListedAction { id: \"rewrite\" }];\n\
             #[derive(Serialize, Deserialize)]\n#[serde(rename_all = \"camelCase\")]\n\
             pub enum ActionId {\n    Rewrite,\n    ErrorHandling,\n    #[serde(rename = \"fixIt\")]\n    Fix,\n}\n",
        );
        let action = SourceFile::new(
            "server/src/assist/action.rs",
            "impl K { pub fn id(self) -> &'static str { match self { K::Explain => \"explain\" } }\n\
             pub fn title(self) -> &'static str { \"Title\" } }\n",
        );
        let ids: Vec<_> = action_ids(&ext, Some(&action))
            .into_iter()
            .map(|n| n.name)
            .collect();
        assert_eq!(ids, ["rewrite", "errorHandling", "fixIt", "explain"]);
    }

    #[test]
    fn markdown_spans_words_tables_and_braces() {
        let md = "a `codex.x` and ``b `c` d``\n```json\n{\"m\": \"codex/3\"}\n```\n\
                  | setting | d |\n|---|---|\n| `r.{a, b}` | `x \\| y` |\n";
        let spans = code_spans(md);
        assert_eq!(
            spans,
            [
                (1, "codex.x".to_owned()),
                (1, "b `c` d".to_owned()),
                (7, "r.{a, b}".to_owned()),
                (7, "x \\| y".to_owned())
            ]
        );
        assert_eq!(
            words("client.commands[\"codex.runAction\"]"),
            ["client.commands", "codex.runAction"]
        );
        assert_eq!(brace_expand("r.{a, b}.c"), ["r.a.c", "r.b.c"]);
        let t = tables(md);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].header, ["setting", "d"]);
        assert_eq!(
            t[0].rows,
            [(7, vec!["`r.{a, b}`".to_owned(), "`x \\| y`".to_owned()])]
        );
    }

    #[test]
    fn docs_mismatches_are_reported_both_ways() {
        let ext = SourceFile::new(
            "server/src/lsp/ext.rs",
            "pub const RUN: &str = \"codex.run\";\npub const S: &str = \"codex/status\";\n\
             pub const K: &str = \"quickfix.codex\";\npub const NEW: &str = \"codex.new\";\n\
             const A: &[L] = &[L { id: \"simplify\" }];\n",
        );
        let config = SourceFile::new(
            "server/src/config.rs",
            "#[serde(rename_all = \"camelCase\")]\npub struct Settings {\n    pub max_retries: u32,\n    pub new_one: u32,\n}\n",
        );
        let docs = SourceFile::new(
            "docs/protocol.md",
            "`codex.run`, `codex/status`, `quickfix.codex`, `codex.gone`, `codex.maxRetries`\n\n\
             | title | kind | action id |\n|---|---|---|\n| S | `quickfix.codex` | `simplify` |\n| X | k | `nope` |\n\n\
             | setting | default |\n|---|---|\n| `maxRetries` | 3 |\n| `oldOne` | 1 |\n",
        );
        let v: Vec<String> = check_docs(&ext, None, &config, &docs)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            v,
            [
                "server/src/lsp/ext.rs:4: command `codex.new` is not in docs/protocol.md (as a backticked name)",
                "docs/protocol.md:1: `codex.gone` is not a command or method of server/src/lsp/ext.rs",
                "docs/protocol.md:6: action id `nope` is not an action id of server/src/lsp/ext.rs",
                "docs/protocol.md:11: setting `oldOne` is not in server/src/config.rs",
                "server/src/config.rs:4: setting `newOne` is not in the settings table of docs/protocol.md",
            ]
        );
    }
}
