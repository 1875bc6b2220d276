//! Where an action applies: the selection, else the smallest enclosing
//! function/class/impl-like syntax node (tree-sitter), else an
//! indentation-based block, else a few surrounding lines.
//!
//! Parsing is capped: files up to [`FULL_PARSE_LIMIT`] bytes are parsed
//! whole; larger ones in growing windows around the cursor (see
//! [`WINDOWS`]), each starting at the nearest unindented line above the
//! cursor (where top-level items start). A node touching a window's edge may
//! be cut, so it is not trusted: the next, larger window is tried, and after
//! the largest the indentation fallback is used.

use std::ops::Range;

use ropey::Rope;
use std::sync::Mutex;

use tree_sitter::{Language, Node, Parser, Tree};

/// Files up to this size are parsed whole.
pub const FULL_PARSE_LIMIT: usize = 16 * 1024;
/// Reach of the successive parse windows on each side of the cursor, for
/// larger files (tree-sitter parses a few MB/s, so 8 KiB costs about 1 ms).
pub const WINDOWS: [usize; 3] = [8 * 1024, 64 * 1024, 256 * 1024];
/// Lines taken on each side of the cursor by the last-resort fallback.
pub const SURROUNDING_LINES: usize = 10;
/// An indentation block longer than this is not a useful target.
const MAX_INDENT_BLOCK_LINES: usize = 400;

/// The part of a document an action applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Byte range in the document.
    pub range: Range<usize>,
    /// How it was found, for logs, titles and prompts.
    pub kind: RegionKind,
}

/// How a [`Region`] was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionKind {
    /// The user's selection.
    Selection,
    /// An enclosing syntax node found by tree-sitter.
    SyntaxNode {
        /// The tree-sitter node kind, e.g. `function_item`.
        node_kind: String,
    },
    /// A block found from indentation.
    Indentation,
    /// Lines around the cursor.
    Lines,
}

impl RegionKind {
    /// A short human description, used in the prompt.
    pub fn describe(&self) -> String {
        match self {
            RegionKind::Selection => "the user's selection".to_owned(),
            RegionKind::SyntaxNode { node_kind } => format!("the enclosing `{node_kind}`"),
            RegionKind::Indentation => "the enclosing indented block".to_owned(),
            RegionKind::Lines => "the lines around the cursor".to_owned(),
        }
    }
}

/// The grammar and the node kinds that make a good target, per LSP language id.
fn grammar(language_id: &str) -> Option<(Language, &'static [&'static str])> {
    const RUST: &[&str] = &[
        "function_item",
        "impl_item",
        "trait_item",
        "struct_item",
        "enum_item",
        "union_item",
        "mod_item",
        "macro_definition",
    ];
    const PYTHON: &[&str] = &[
        "function_definition",
        "class_definition",
        "decorated_definition",
    ];
    const JS: &[&str] = &[
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "function",
        "arrow_function",
        "method_definition",
        "class_declaration",
        "abstract_class_declaration",
        "class",
        "interface_declaration",
        "enum_declaration",
        "module",
        "internal_module",
    ];
    const GO: &[&str] = &[
        "function_declaration",
        "method_declaration",
        "func_literal",
        "type_declaration",
    ];
    const C: &[&str] = &[
        "function_definition",
        "struct_specifier",
        "union_specifier",
        "enum_specifier",
    ];
    const CPP: &[&str] = &[
        "function_definition",
        "class_specifier",
        "struct_specifier",
        "union_specifier",
        "enum_specifier",
        "namespace_definition",
        "template_declaration",
        "lambda_expression",
    ];
    const JAVA: &[&str] = &[
        "method_declaration",
        "constructor_declaration",
        "class_declaration",
        "interface_declaration",
        "enum_declaration",
        "record_declaration",
        "lambda_expression",
    ];
    let pair: (Language, &'static [&'static str]) = match language_id {
        "rust" => (tree_sitter_rust::LANGUAGE.into(), RUST),
        "python" => (tree_sitter_python::LANGUAGE.into(), PYTHON),
        "typescript" => (tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(), JS),
        "typescriptreact" => (tree_sitter_typescript::LANGUAGE_TSX.into(), JS),
        "javascript" | "javascriptreact" => (tree_sitter_javascript::LANGUAGE.into(), JS),
        "go" => (tree_sitter_go::LANGUAGE.into(), GO),
        "c" => (tree_sitter_c::LANGUAGE.into(), C),
        "cpp" => (tree_sitter_cpp::LANGUAGE.into(), CPP),
        "java" => (tree_sitter_java::LANGUAGE.into(), JAVA),
        _ => return None,
    };
    Some(pair)
}

/// Whether regions of this language come from a grammar (tree-sitter), so
/// its definitions are [`RegionKind::SyntaxNode`]s; otherwise indentation
/// is the best guess of a block.
pub fn has_grammar(language_id: &str) -> bool {
    grammar(language_id).is_some()
}

/// Finds where an action applies. Never panics: offsets past the end are
/// clamped and snapped to character boundaries.
pub fn target_region(
    language_id: &str,
    text: &Rope,
    selection: Option<Range<usize>>,
    cursor: usize,
) -> Region {
    target_region_with(language_id, text, selection, cursor, None)
}

/// [`target_region`], reusing the syntax tree last parsed for the same
/// document at the same `revision` when the cursor lies in its window:
/// repeated lookups on an unchanged document (hovers) skip parsing.
pub fn target_region_cached(
    cache: &SyntaxCache,
    revision: u64,
    language_id: &str,
    text: &Rope,
    selection: Option<Range<usize>>,
    cursor: usize,
) -> Region {
    target_region_with(
        language_id,
        text,
        selection,
        cursor,
        Some((cache, revision)),
    )
}

fn target_region_with(
    language_id: &str,
    text: &Rope,
    selection: Option<Range<usize>>,
    cursor: usize,
    cache: Option<(&SyntaxCache, u64)>,
) -> Region {
    let len = text.len_bytes();
    let snap = |o: usize| text.char_to_byte(text.byte_to_char(o.min(len)));
    if let Some(sel) = selection {
        let (a, b) = (snap(sel.start.min(sel.end)), snap(sel.start.max(sel.end)));
        if a < b {
            return Region {
                range: a..b,
                kind: RegionKind::Selection,
            };
        }
    }
    let cursor = snap(cursor);
    if let Some(region) = syntax_region(language_id, text, cursor, cache) {
        return region;
    }
    if let Some(range) = indentation_block(text, cursor) {
        return Region {
            range,
            kind: RegionKind::Indentation,
        };
    }
    Region {
        range: surrounding_lines(text, cursor, SURROUNDING_LINES),
        kind: RegionKind::Lines,
    }
}

/// One parsed window of a document.
struct Parsed {
    language_id: String,
    revision: u64,
    window: Range<usize>,
    whole: bool,
    source: String,
    tree: Tree,
}

/// The last syntax tree parsed for one document (keep one per open
/// document). Valid only for the revision it was parsed at.
#[derive(Default)]
pub struct SyntaxCache {
    last: Mutex<Option<Parsed>>,
}

impl std::fmt::Debug for SyntaxCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyntaxCache").finish_non_exhaustive()
    }
}

impl SyntaxCache {
    /// Runs `f` on the cached parse if it is for exactly this revision,
    /// language and window.
    fn with_parsed<R>(
        &self,
        revision: u64,
        language_id: &str,
        window: &Range<usize>,
        f: impl FnOnce(&Parsed) -> R,
    ) -> Option<R> {
        let last = self.last.lock().ok()?;
        let parsed = last.as_ref()?;
        (parsed.revision == revision
            && parsed.language_id == language_id
            && parsed.window == *window)
            .then(|| f(parsed))
    }

    fn store(&self, parsed: Parsed) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some(parsed);
        }
    }
}

/// The byte window parsed for a reach of `reach` bytes around the cursor:
/// from the nearest unindented line above the cursor (and the comments or
/// attributes right above it) to a line end `reach` bytes below.
fn parse_window(text: &Rope, cursor: usize, reach: usize) -> Range<usize> {
    let len = text.len_bytes();
    let cursor_line = text.byte_to_line(cursor);
    let limit_line = text.byte_to_line(cursor.saturating_sub(reach));
    let unindented = |l: usize| {
        let line = text.line(l);
        line.len_chars() > 0 && !line.char(0).is_whitespace()
    };
    let mut start_line = (limit_line..=cursor_line)
        .rev()
        .find(|&l| unindented(l))
        .unwrap_or(limit_line);
    while start_line > limit_line
        && unindented(start_line - 1)
        && text.line(start_line - 1).char(0) != '}'
    {
        start_line -= 1;
    }
    // The end is measured from the start, not the cursor, so every cursor
    // under the same top-level item gets the same window (and the same
    // cached parse). The cursor lies within `reach` of the start, so at
    // least `reach` bytes follow it.
    let start = text.line_to_byte(start_line);
    let end_line = text.byte_to_line((start + 2 * reach).min(len));
    let end = text.line_to_byte((end_line + 1).min(text.len_lines()));
    start..end.max(start)
}

fn syntax_region(
    language_id: &str,
    text: &Rope,
    cursor: usize,
    cache: Option<(&SyntaxCache, u64)>,
) -> Option<Region> {
    let (language, kinds) = grammar(language_id)?;
    let len = text.len_bytes();
    let windows: Vec<(Range<usize>, bool)> = if len <= FULL_PARSE_LIMIT {
        vec![(0..len, true)]
    } else {
        let mut out = Vec::new();
        for reach in WINDOWS {
            let window = parse_window(text, cursor, reach);
            let whole = window.start == 0 && window.end == len;
            out.push((window, whole));
            if whole {
                break;
            }
        }
        out
    };
    let mut parser: Option<Parser> = None;
    for (window, whole) in windows {
        // The cached parse of this exact window gives exactly what a fresh
        // parse would.
        if let Some(found) = cache.and_then(|(c, rev)| {
            c.with_parsed(rev, language_id, &window, |p| {
                region_in(p, kinds, text, cursor)
            })
        }) {
            match found {
                Some(region) => return Some(region),
                None => continue,
            }
        }
        let parser = match &mut parser {
            Some(p) => p,
            None => {
                let mut p = Parser::new();
                p.set_language(&language).ok()?;
                parser.insert(p)
            }
        };
        let source = text.byte_slice(window.clone()).to_string();
        let Some(tree) = parser.parse(source.as_bytes(), None) else {
            continue;
        };
        let parsed = Parsed {
            language_id: language_id.to_owned(),
            revision: cache.map_or(0, |(_, rev)| rev),
            window,
            whole,
            source,
            tree,
        };
        let region = region_in(&parsed, kinds, text, cursor);
        if let Some((c, _)) = cache {
            c.store(parsed);
        }
        if region.is_some() {
            return region;
        }
    }
    None
}

fn region_in(parsed: &Parsed, kinds: &[&str], text: &Rope, cursor: usize) -> Option<Region> {
    let (source, tree, window, whole) =
        (&parsed.source, &parsed.tree, &parsed.window, parsed.whole);
    let local = cursor - window.start;
    // Prefer the node at the cursor; at the end of a line look one byte back so
    // a cursor just after `}` still belongs to its item.
    let mut node = tree.root_node().descendant_for_byte_range(local, local)?;
    if node.kind_id() == tree.root_node().kind_id() && local > 0 {
        node = tree
            .root_node()
            .descendant_for_byte_range(local - 1, local - 1)?;
    }
    let mut found: Option<Node> = None;
    let mut current = Some(node);
    while let Some(n) = current {
        if kinds.contains(&n.kind()) {
            found = Some(n);
            break;
        }
        current = n.parent();
    }
    let mut node = found?;
    node = widen(node);
    let mut start = node.start_byte();
    // Leading doc comments and attributes belong to the item.
    let mut prev = node.prev_sibling();
    while let Some(p) = prev {
        let kind = p.kind();
        let attached = kind.contains("comment") || kind == "attribute_item" || kind == "decorator";
        let gap = &source.as_bytes()[p.end_byte().min(start)..start];
        let blank_lines = gap.iter().filter(|&&b| b == b'\n').count();
        if !attached || blank_lines > 1 {
            break;
        }
        start = p.start_byte();
        prev = p.prev_sibling();
    }
    let end = node.end_byte();
    // A node reaching the window's end, or an error-recovered one, may be cut.
    if !whole && (end >= source.len() || node.has_error()) {
        return None;
    }
    let range = full_lines(text, window.start + start..window.start + end);
    Some(Region {
        range,
        kind: RegionKind::SyntaxNode {
            node_kind: node.kind().to_owned(),
        },
    })
}

/// Grows an anonymous function to its declaration (`const f = () => {}`) and
/// any node to its `export`/`template` wrapper, so the region reads whole.
fn widen(mut node: Node) -> Node {
    if matches!(
        node.kind(),
        "arrow_function"
            | "function_expression"
            | "function"
            | "func_literal"
            | "lambda_expression"
    ) && let Some(decl) = node.parent().filter(|p| p.kind() == "variable_declarator")
        && let Some(stmt) = decl
            .parent()
            .filter(|g| matches!(g.kind(), "lexical_declaration" | "variable_declaration"))
    {
        node = stmt;
    }
    while let Some(p) = node.parent() {
        if matches!(
            p.kind(),
            "export_statement" | "template_declaration" | "decorated_definition"
        ) {
            node = p;
        } else {
            break;
        }
    }
    node
}

/// Extends a range to whole lines when only whitespace lies outside it on its
/// first and last lines (the line break itself is not included).
fn full_lines(text: &Rope, range: Range<usize>) -> Range<usize> {
    let len = text.len_bytes();
    let (start, end) = (range.start.min(len), range.end.min(len));
    let first = text.byte_to_line(start);
    let line_start = text.line_to_byte(first);
    let before_blank = text
        .byte_slice(line_start..start)
        .chars()
        .all(char::is_whitespace);
    let last = text.byte_to_line(end);
    let line_end = line_content_end(text, last);
    let after_blank = end <= line_end
        && text
            .byte_slice(end..line_end)
            .chars()
            .all(char::is_whitespace);
    let s = if before_blank { line_start } else { start };
    let e = if after_blank { line_end } else { end };
    s..e.max(s)
}

/// Byte offset of the end of a line's content (before `\n`/`\r\n`).
fn line_content_end(text: &Rope, line: usize) -> usize {
    let start = text.line_to_byte(line);
    let slice = text.line(line);
    let mut end = start + slice.len_bytes();
    let bytes_len = slice.len_bytes();
    if bytes_len > 0 && slice.byte(bytes_len - 1) == b'\n' {
        end -= 1;
        if bytes_len > 1 && slice.byte(bytes_len - 2) == b'\r' {
            end -= 1;
        }
    } else if bytes_len > 0 && slice.byte(bytes_len - 1) == b'\r' {
        end -= 1;
    }
    end
}

/// Indentation width of a line (tabs count as 4), or `None` when blank.
fn indent_of(text: &Rope, line: usize) -> Option<usize> {
    let mut width = 0;
    for c in text.line(line).chars() {
        match c {
            ' ' => width += 1,
            '\t' => width += 4,
            '\n' | '\r' => return None,
            c if c.is_whitespace() => width += 1,
            _ => return Some(width),
        }
    }
    None
}

/// Whether a line only closes a block (`}`, `end`, `)`, `fi`…).
fn is_closer(text: &Rope, line: usize) -> bool {
    let s: String = text.line(line).chars().take(40).collect();
    let t = s.trim();
    !t.is_empty()
        && (t.chars().all(|c| matches!(c, '}' | ')' | ']' | ';' | ','))
            || matches!(
                t,
                "end" | "fi" | "done" | "esac" | "end;" | "endif" | "endfunction"
            ))
}

/// The block of the nearest header line above (or at) the cursor whose body
/// is indented deeper, plus a closing line at the header's indentation.
pub(crate) fn indentation_block(text: &Rope, cursor: usize) -> Option<Range<usize>> {
    let lines = text.len_lines();
    let mut line = text.byte_to_line(cursor.min(text.len_bytes()));
    // A blank cursor line takes the nearest non-blank line above.
    while indent_of(text, line).is_none() {
        line = line.checked_sub(1)?;
    }
    let next_nonblank = |from: usize| (from + 1..lines).find(|&l| indent_of(text, l).is_some());
    let here = indent_of(text, line)?;
    let header = match next_nonblank(line) {
        Some(n) if indent_of(text, n)? > here => line,
        _ => (0..line)
            .rev()
            .take(MAX_INDENT_BLOCK_LINES)
            .find(|&l| indent_of(text, l).is_some_and(|i| i < here))?,
    };
    let header_indent = indent_of(text, header)?;
    let mut last = header;
    let mut l = header + 1;
    while l < lines && l - header <= MAX_INDENT_BLOCK_LINES {
        match indent_of(text, l) {
            None => {}
            Some(i) if i > header_indent => last = l,
            Some(i) if i == header_indent && is_closer(text, l) => {
                last = l;
                break;
            }
            Some(_) => break,
        }
        l += 1;
    }
    if last == header || l - header > MAX_INDENT_BLOCK_LINES {
        return None;
    }
    Some(text.line_to_byte(header)..line_content_end(text, last))
}

/// `n` lines on each side of the cursor's line, as whole lines.
pub(crate) fn surrounding_lines(text: &Rope, cursor: usize, n: usize) -> Range<usize> {
    let line = text.byte_to_line(cursor.min(text.len_bytes()));
    let first = line.saturating_sub(n);
    let last = (line + n).min(text.len_lines().saturating_sub(1));
    text.line_to_byte(first)..line_content_end(text, last)
}

#[cfg(test)]
mod tests {

    #[test]
    fn cached_lookups_agree_with_fresh_ones() {
        // Big enough for windowed parsing, with nested items.
        let mut src = String::new();
        for i in 0..3000 {
            src.push_str(&format!("impl T{i} {{\n    fn f{i}(x: u32) -> u32 {{\n        let g = |y| y + {i};\n        g(x)\n    }}\n}}\n"));
        }
        let rope = Rope::from_str(&src);
        let cache = SyntaxCache::default();
        for cursor in (0..src.len()).step_by(4999) {
            let fresh = target_region("rust", &rope, None, cursor);
            let cached = target_region_cached(&cache, 7, "rust", &rope, None, cursor);
            assert_eq!(fresh, cached, "cursor {cursor}");
            // Right after a lookup, the parse of the cursor's last window is cached.
            let window = cache
                .last
                .lock()
                .unwrap()
                .as_ref()
                .map(|p| p.window.clone());
            if let Some(window) = window {
                assert!(cache.with_parsed(7, "rust", &window, |_| ()).is_some());
                // Another revision never uses the old tree.
                assert!(cache.with_parsed(8, "rust", &window, |_| ()).is_none());
            }
        }
    }
    use super::*;

    fn region(lang: &str, src: &str) -> (String, RegionKind) {
        let cursor = src.find("|").unwrap_or(0);
        let text = src.replacen('|', "", 1);
        let rope = Rope::from_str(&text);
        let r = target_region(lang, &rope, None, cursor);
        (text[r.range].to_owned(), r.kind)
    }

    #[test]
    fn rust_method_inside_impl() {
        let (t, k) = region(
            "rust",
            "struct A;\nimpl A {\n    /// Doc.\n    fn a(&self) -> u8 {\n        1|\n    }\n\n    fn b() {}\n}\n",
        );
        assert_eq!(t, "    /// Doc.\n    fn a(&self) -> u8 {\n        1\n    }");
        assert_eq!(
            k,
            RegionKind::SyntaxNode {
                node_kind: "function_item".into()
            }
        );
    }

    #[test]
    fn every_grammar_finds_a_function() {
        let cases = [
            (
                "python",
                "import os\n\ndef f(x):\n    return x| + 1\n\nY = 2\n",
                "def f(x):\n    return x + 1",
            ),
            (
                "typescript",
                "const a = 1;\nexport function f(x: number): number {\n  return x|;\n}\n",
                "export function f(x: number): number {\n  return x;\n}",
            ),
            (
                "typescriptreact",
                "const C = () => {\n  return <div>|</div>;\n};\nlet z = 1;\n",
                "const C = () => {\n  return <div></div>;\n};",
            ),
            (
                "javascript",
                "class K {\n  m() {\n    return |1;\n  }\n}\n",
                "  m() {\n    return 1;\n  }",
            ),
            (
                "javascriptreact",
                "function f() {\n  return <a/>|;\n}\n",
                "function f() {\n  return <a/>;\n}",
            ),
            (
                "go",
                "package p\n\nfunc (s *S) M() int {\n\treturn |1\n}\n",
                "func (s *S) M() int {\n\treturn 1\n}",
            ),
            (
                "c",
                "#include <x.h>\nint f(void) {\n  return |0;\n}\n",
                "int f(void) {\n  return 0;\n}",
            ),
            (
                "cpp",
                "namespace n {\nint f() {\n  return |0;\n}\n}\n",
                "int f() {\n  return 0;\n}",
            ),
            (
                "java",
                "class A {\n  int f() {\n    return |0;\n  }\n}\n",
                "  int f() {\n    return 0;\n  }",
            ),
        ];
        for (lang, src, want) in cases {
            let (t, k) = region(lang, src);
            assert_eq!(t, want, "{lang}");
            assert!(matches!(k, RegionKind::SyntaxNode { .. }), "{lang}: {k:?}");
        }
    }

    #[test]
    fn indentation_fallback_for_unknown_languages() {
        let (t, k) = region(
            "ruby",
            "class A\n  def f\n    1|\n  end\n\n  def g\n  end\nend\n",
        );
        assert_eq!(t, "  def f\n    1\n  end");
        assert_eq!(k, RegionKind::Indentation);
    }

    #[test]
    fn lines_fallback_for_flat_text() {
        let src: String = (0..40).map(|i| format!("line {i}\n")).collect();
        let rope = Rope::from_str(&src);
        let cursor = src.find("line 20").unwrap_or(0);
        let r = target_region("plaintext", &rope, None, cursor);
        assert_eq!(r.kind, RegionKind::Lines);
        assert!(src[r.range.clone()].starts_with("line 10\n"));
        assert!(src[r.range].ends_with("line 30"));
    }

    #[test]
    #[allow(clippy::reversed_empty_ranges)]
    fn selection_wins_and_is_clamped_to_char_boundaries() {
        let rope = Rope::from_str("héllo wörld");
        let r = target_region("rust", &rope, Some(8..2), 0);
        assert_eq!(r.kind, RegionKind::Selection);
        assert_eq!(r.range, 1..8);
        let r = target_region("rust", &rope, Some(999..999), 999);
        assert_ne!(r.kind, RegionKind::Selection);
    }

    #[test]
    fn huge_file_uses_a_window() {
        let mut src = String::new();
        for i in 0..30_000 {
            src.push_str(&format!("fn f{i}(x: u32) -> u32 {{\n    x + {i}\n}}\n"));
        }
        assert!(src.len() > FULL_PARSE_LIMIT);
        let rope = Rope::from_str(&src);
        let cursor = src.find("x + 20000").unwrap_or(0);
        let r = target_region("rust", &rope, None, cursor);
        assert_eq!(
            &src[r.range],
            "fn f20000(x: u32) -> u32 {\n    x + 20000\n}"
        );
    }

    #[test]
    fn method_deep_inside_a_big_impl_uses_windows() {
        let mut src = String::from("struct S;\n\n/// The impl.\nimpl S {\n");
        for i in 0..3000 {
            src.push_str(&format!(
                "    /// Method {i}.\n    fn m{i}(&self) -> u32 {{\n        {i}\n    }}\n\n"
            ));
        }
        src.push_str("}\n");
        assert!(src.len() > WINDOWS[1]);
        let rope = Rope::from_str(&src);
        let cursor = src.find("        1500\n").unwrap_or(0);
        let r = target_region("rust", &rope, None, cursor);
        assert_eq!(
            &src[r.range],
            "    /// Method 1500.\n    fn m1500(&self) -> u32 {\n        1500\n    }"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "(\\{|\\}|fn |x|\\n|\\r\\n|  |é|😀|\\t|def :)*", cursor in 0usize..200, lang_i in 0usize..4, sel in proptest::option::of((0usize..200, 0usize..200))) {
            let lang = ["rust", "python", "ruby", "c"][lang_i];
            let rope = Rope::from_str(&text);
            let r = target_region(lang, &rope, sel.map(|(a, b)| a..b), cursor);
            proptest::prop_assert!(r.range.start <= r.range.end && r.range.end <= text.len());
            proptest::prop_assert!(text.is_char_boundary(r.range.start) && text.is_char_boundary(r.range.end));
        }
    }
}
