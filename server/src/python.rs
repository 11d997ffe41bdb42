//! Python structure from a parser (tree-sitter-python): the functions and classes of a module
//! with the lines they span, its imports and constants. The engine (node assembly) and the
//! language server (the function under the cursor, an optimized function's helpers, a module's
//! context) read Python through this, never by scanning lines: a `def` inside a string or a
//! docstring with dedented lines is text, not structure.
//!
//! Lines are counted by the caller's `Lines` (LSP documents break lines as LSP does; plain source
//! at `\n`), so that the spans match the editor's line numbers.

use std::cell::RefCell;

use tree_sitter::{InputEdit, Node, Parser, Point, Tree};

thread_local! {
    /// One parser per thread: parsers are cheap to keep and not shared between threads.
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

fn with_parser<T>(work: impl FnOnce(&mut Parser) -> T) -> Option<T> {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut parser = Parser::new();
            parser.set_language(&tree_sitter_python::LANGUAGE.into()).ok()?;
            *slot = Some(parser);
        }
        slot.as_mut().map(work)
    })
}

/// Parses Python source (a syntax error still gives a tree, with the broken part marked).
pub fn parse(source: &str) -> Option<Tree> {
    with_parser(|p| p.parse(source, None)).flatten()
}

/// Parses text given in chunks (`chunk_at(byte)` returns the text from `byte` to the end of its
/// chunk), reusing `old` (already `edit`ed) for the parts that did not change.
pub fn parse_chunks<'a>(chunk_at: &mut dyn FnMut(usize) -> &'a [u8], old: Option<&Tree>) -> Option<Tree> {
    with_parser(|p| p.parse_with_options(&mut |byte: usize, _: Point| chunk_at(byte), old, None)).flatten()
}

/// Tells a tree about an edit of its text (byte offsets and positions before and after).
pub fn edit(tree: &mut Tree, edit: &InputEdit) {
    tree.edit(edit);
}

/// How the caller counts lines in the text the tree was parsed from.
pub trait Lines {
    /// The line holding byte `byte`.
    fn line_of(&self, byte: usize) -> usize;
}

/// Plain source: lines end at `\n`.
pub struct SourceLines {
    starts: Vec<usize>,
}

impl SourceLines {
    pub fn new(source: &str) -> SourceLines {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        SourceLines { starts }
    }
}

impl Lines for SourceLines {
    fn line_of(&self, byte: usize) -> usize {
        self.starts.partition_point(|&s| s <= byte).saturating_sub(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefKind {
    Function,
    Class,
}

/// A function or class definition and the lines it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Def {
    pub kind: DefKind,
    pub name: String,
    /// Its first line (the first decorator's, if any).
    pub start: usize,
    /// The `def` / `class` line.
    pub def_line: usize,
    /// One past its last line.
    pub end: usize,
    /// The column its first line starts at (0: a top-level definition).
    pub column: usize,
}

fn def_of(node: Node<'_>, source: &dyn Fn(Node<'_>) -> String, lines: &dyn Lines) -> Option<Def> {
    let kind = match node.kind() {
        "function_definition" => DefKind::Function,
        "class_definition" => DefKind::Class,
        _ => return None,
    };
    let name = source(node.child_by_field_name("name")?);
    // Decorators belong to the definition: `decorated_definition` wraps both.
    let outer = node.parent().filter(|p| p.kind() == "decorated_definition").unwrap_or(node);
    let end_byte = outer.end_byte();
    // A node that ends right after a line break ends on the line before.
    let last = lines.line_of(end_byte.saturating_sub(1).max(outer.start_byte()));
    Some(Def {
        kind,
        name,
        start: lines.line_of(outer.start_byte()),
        def_line: lines.line_of(node.start_byte()),
        end: last + 1,
        column: outer.start_position().column,
    })
}

/// Every function and class definition, at any depth, in source order. `text(range)` returns
/// the source of a byte range.
pub fn definitions(tree: &Tree, text: &dyn Fn(std::ops::Range<usize>) -> String, lines: &dyn Lines) -> Vec<Def> {
    let source = |n: Node<'_>| text(n.byte_range());
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if let Some(def) = def_of(node, &source, lines) {
            out.push(def);
        }
        // Only statements can hold definitions: skip into expressions rarely pays, but a
        // definition can only appear in a block, a module or a decorated definition.
        let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
        for child in children.into_iter().rev() {
            if matches!(
                child.kind(),
                "module"
                    | "block"
                    | "function_definition"
                    | "class_definition"
                    | "decorated_definition"
                    | "if_statement"
                    | "else_clause"
                    | "elif_clause"
                    | "try_statement"
                    | "except_clause"
                    | "finally_clause"
                    | "with_statement"
                    | "for_statement"
                    | "while_statement"
            ) {
                stack.push(child);
            }
        }
    }
    out.sort_by_key(|d| (d.start, d.column));
    out
}

/// The innermost function definition whose lines contain `line`, found from the node at that
/// line's first byte (`byte`) upwards: work proportional to the nesting, not the file.
pub fn function_at(
    tree: &Tree,
    byte: usize,
    line: usize,
    text: &dyn Fn(std::ops::Range<usize>) -> String,
    lines: &dyn Lines,
) -> Option<Def> {
    let source = |n: Node<'_>| text(n.byte_range());
    let mut node = tree.root_node().descendant_for_byte_range(byte, byte)?;
    loop {
        // On a decorator: the definition it decorates.
        let candidate = if node.kind() == "decorated_definition" {
            node.child_by_field_name("definition").unwrap_or(node)
        } else {
            node
        };
        if let Some(def) = def_of(candidate, &source, lines)
            && def.kind == DefKind::Function
            && def.start <= line
            && line < def.end
        {
            return Some(def);
        }
        node = node.parent()?;
    }
}

/// What a module's top level holds, line by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopLevel {
    Import,
    /// A single-line assignment to an UPPER_CASE name.
    Constant,
    Def(Def),
    Other,
}

/// The module's top-level statements with their line spans `[start, end)`.
pub fn top_level(
    tree: &Tree,
    text: &dyn Fn(std::ops::Range<usize>) -> String,
    lines: &dyn Lines,
) -> Vec<(usize, usize, TopLevel)> {
    let source = |n: Node<'_>| text(n.byte_range());
    let root = tree.root_node();
    let mut cursor = root.walk();
    let mut out = Vec::new();
    for node in root.named_children(&mut cursor) {
        let start = lines.line_of(node.start_byte());
        let end = lines.line_of(node.end_byte().saturating_sub(1).max(node.start_byte())) + 1;
        let what = match node.kind() {
            "import_statement" | "import_from_statement" | "future_import_statement" => TopLevel::Import,
            "function_definition" | "class_definition" => {
                def_of(node, &source, lines).map(TopLevel::Def).unwrap_or(TopLevel::Other)
            }
            "decorated_definition" => node
                .child_by_field_name("definition")
                .and_then(|d| def_of(d, &source, lines))
                .map(TopLevel::Def)
                .unwrap_or(TopLevel::Other),
            "expression_statement" if start + 1 == end => {
                let constant = node
                    .named_child(0)
                    .filter(|a| a.kind() == "assignment")
                    .and_then(|a| a.child_by_field_name("left"))
                    .filter(|l| l.kind() == "identifier")
                    .map(source)
                    .is_some_and(|name| {
                        name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                            && name.chars().any(|c| c.is_ascii_uppercase())
                    });
                if constant { TopLevel::Constant } else { TopLevel::Other }
            }
            _ => TopLevel::Other,
        };
        out.push((start, end, what));
    }
    out
}

/// The definitions of plain source, in order.
pub fn source_definitions(source: &str) -> Vec<Def> {
    let Some(tree) = parse(source) else { return Vec::new() };
    let lines = SourceLines::new(source);
    definitions(&tree, &|r| source.get(r).unwrap_or_default().to_string(), &lines)
}

/// Names of the top-level functions of plain source.
pub fn top_level_functions(source: &str) -> Vec<String> {
    source_definitions(source)
        .into_iter()
        .filter(|d| d.kind == DefKind::Function && d.column == 0)
        .map(|d| d.name)
        .collect()
}

/// The line of the first top-level `if __name__ ...:` statement of plain source (a string that
/// holds those words is not one).
pub fn main_guard_line(source: &str) -> Option<usize> {
    let tree = parse(source)?;
    let lines = SourceLines::new(source);
    let root = tree.root_node();
    let mut cursor = root.walk();
    let guard = root.named_children(&mut cursor).find(|n| {
        n.kind() == "if_statement"
            && n.child_by_field_name("condition")
                .and_then(|c| source.get(c.byte_range()))
                .is_some_and(|c| c.trim_start().starts_with("__name__"))
    })?;
    Some(lines.line_of(guard.start_byte()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_dedented_docstrings_are_not_structure() {
        let source = "import os\n\nLIMIT = 3\n\ndef first(a):\n    \"\"\"Docs.\n\ndef not_a_function():\n    nor is this\n\"\"\"\n    return a\n\n\n@decorator\ndef second(b):\n    text = '''\ndef inside_a_string(): pass\n'''\n    def inner():\n        return 1\n    return inner\n\nclass Thing:\n    def method(self):\n        pass\n";
        let defs = source_definitions(source);
        let names: Vec<(&str, usize, usize, usize)> =
            defs.iter().map(|d| (d.name.as_str(), d.start, d.end, d.column)).collect();
        assert_eq!(
            names,
            vec![
                ("first", 4, 11, 0),
                ("second", 13, 21, 0),
                ("inner", 18, 20, 4),
                ("Thing", 22, 25, 0),
                ("method", 23, 25, 4)
            ]
        );
        assert_eq!(top_level_functions(source), vec!["first", "second"]);
        let tree = parse(source).unwrap();
        let lines = SourceLines::new(source);
        let text = |r: std::ops::Range<usize>| source[r].to_string();
        let kinds: Vec<(usize, usize, TopLevel)> = top_level(&tree, &text, &lines)
            .into_iter()
            .map(|(s, e, t)| (s, e, if let TopLevel::Def(_) = t { TopLevel::Other } else { t }))
            .collect();
        assert_eq!(kinds[0], (0, 1, TopLevel::Import));
        assert_eq!(kinds[1], (2, 3, TopLevel::Constant));
        // The line inside the docstring belongs to `first`; the one inside `second`'s string too.
        let at = |line: usize| {
            let byte = lines.starts[line];
            function_at(&tree, byte, line, &text, &lines).map(|d| d.name)
        };
        assert_eq!(at(7).as_deref(), Some("first"));
        assert_eq!(at(16).as_deref(), Some("second"));
        assert_eq!(at(19).as_deref(), Some("inner"));
        assert_eq!(at(2), None);
        assert_eq!(at(13).as_deref(), Some("second"), "a decorator line belongs to its function");
        let guarded = "def f():\n    \"\"\"Use:\nif __name__ == '__main__': no\n\"\"\"\n    return 1\n\nif __name__ == \"__main__\":\n    print(f())\n";
        assert_eq!(main_guard_line(guarded), Some(6));
    }
}
