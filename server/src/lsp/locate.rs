//! What the cursor is on: a task comment, a Python function, an evolved node's header. Comments and
//! headers are found in the line's text; Python structure (functions, their spans, a module's
//! imports and constants) comes from the document's syntax tree (`crate::python`), kept
//! up to date incrementally, so the answers take microseconds on large files too.

use super::document::Document;

/// Comment markers the task finder knows (Python and shell first, then C-like languages).
const COMMENT_MARKERS: [&str; 3] = ["#", "//", "--"];
/// The marker of a task comment: `# evolve: parse ISO dates from a log line`.
pub const TASK_MARKER: &str = "evolve:";
/// The first line of an evolved block: `# evolved: add_numbers-1a2b3c v2 · 3/3 tests · ...`.
pub const HEADER_MARKER: &str = "evolved:";

/// A comment line that states a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskComment {
    pub line: usize,
    /// The comment's own text (the whole line), used to find it again after edits.
    pub text: String,
    pub indent: String,
    pub marker: &'static str,
    pub task: String,
}

/// The comment marker a line starts with (after indentation), and the text after it.
fn comment_body(line: &str) -> Option<(&'static str, &str)> {
    let trimmed = line.trim_start();
    COMMENT_MARKERS.iter().find_map(|m| trimmed.strip_prefix(m).map(|rest| (*m, rest.trim())))
}

fn indent_of(line: &str) -> String {
    line.chars().take_while(|c| c.is_whitespace()).collect()
}

/// Line `line` as a task comment: `# evolve: …` always; any other comment only when `selected`.
pub fn task_comment(doc: &Document, line: usize, selected: bool) -> Option<TaskComment> {
    let text = doc.line(line);
    let (marker, body) = comment_body(&text)?;
    let task = match body.strip_prefix(TASK_MARKER) {
        Some(rest) => rest.trim(),
        None if selected && !body.starts_with(HEADER_MARKER) => body,
        None => return None,
    };
    if task.is_empty() {
        return None;
    }
    Some(TaskComment { line, indent: indent_of(&text), marker, task: task.to_string(), text })
}

/// The selected lines as one task when every non-blank one is a comment (joined, markers
/// stripped); the comment block's last line is where the code goes.
pub fn selected_comment_block(doc: &Document, first: usize, last: usize) -> Option<TaskComment> {
    let mut parts = Vec::new();
    let mut anchor = None;
    for line in first..=last.min(doc.line_count().saturating_sub(1)) {
        let text = doc.line(line);
        if text.trim().is_empty() {
            continue;
        }
        let comment = task_comment(doc, line, true)?;
        parts.push(comment.task.clone());
        anchor = Some(comment);
    }
    let mut anchor = anchor?;
    anchor.task = parts.join(" ");
    Some(anchor)
}

/// A Python function definition and the lines it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpan {
    pub name: String,
    /// First line (its first decorator, if any) and one past the last line of its body.
    pub start: usize,
    pub def_line: usize,
    pub end: usize,
    pub indent: String,
}

/// The document's syntax tree: the one kept in step with its edits (edited at once, reparsed a
/// moment later off the request path), none while a just-opened Python document is first parsed,
/// or a parse of its text (a document opened with another language id).
fn tree_of(doc: &Document) -> Option<std::borrow::Cow<'_, tree_sitter::Tree>> {
    match &doc.tree {
        Some(tree) => Some(std::borrow::Cow::Borrowed(tree)),
        None if doc.is_python() => None,
        None => crate::python::parse(&doc.to_text()).map(std::borrow::Cow::Owned),
    }
}

fn text_of(doc: &Document) -> impl Fn(std::ops::Range<usize>) -> String + '_ {
    move |range: std::ops::Range<usize>| {
        let end = range.end.min(doc.text.len_bytes());
        doc.text.byte_slice(range.start.min(end)..end).to_string()
    }
}

fn span_of(doc: &Document, def: crate::python::Def) -> FunctionSpan {
    FunctionSpan {
        name: def.name,
        start: def.start,
        def_line: def.def_line,
        end: def.end,
        indent: indent_of(&doc.line(def.start)),
    }
}

/// The innermost Python function whose definition (decorators included) contains `line`.
pub fn function_at(doc: &Document, line: usize) -> Option<FunctionSpan> {
    if line >= doc.line_count() {
        return None;
    }
    let tree = tree_of(doc)?;
    let text = text_of(doc);
    let byte = doc.text.line_to_byte(line);
    crate::python::function_at(&tree, byte, line, &text, doc).map(|d| span_of(doc, d))
}

/// The Python functions defined in a document (any nesting), in order.
pub fn functions(doc: &Document) -> Vec<FunctionSpan> {
    let Some(tree) = tree_of(doc) else { return Vec::new() };
    let text = text_of(doc);
    crate::python::definitions(&tree, &text, doc)
        .into_iter()
        .filter(|d| d.kind == crate::python::DefKind::Function)
        .map(|d| span_of(doc, d))
        .collect()
}

/// The function's source lines `[start, end)`.
pub fn function_source(doc: &Document, f: &FunctionSpan) -> String {
    (f.start..f.end).map(|l| doc.line(l) + "\n").collect()
}

/// The module's top-level import statements, each with its lines (`\n`-ended).
pub fn imports(doc: &Document) -> Vec<String> {
    let Some(tree) = tree_of(doc) else { return Vec::new() };
    let text = text_of(doc);
    crate::python::top_level(&tree, &text, doc)
        .into_iter()
        .filter(|(_, _, what)| *what == crate::python::TopLevel::Import)
        .map(|(start, end, _)| (start..end).map(|l| doc.line(l) + "\n").collect())
        .collect()
}

/// What a top-level function may need from its module to run alone: the module's imports, its
/// other top-level functions and classes, and its single-line UPPER_CASE constants.
pub fn module_context(doc: &Document, except: &FunctionSpan) -> String {
    use crate::python::TopLevel;
    let Some(tree) = tree_of(doc) else { return String::new() };
    let text = text_of(doc);
    let mut out = String::new();
    for (start, end, what) in crate::python::top_level(&tree, &text, doc) {
        match what {
            TopLevel::Import | TopLevel::Constant => {
                for l in start..end {
                    out.push_str(&doc.line(l));
                    out.push('\n');
                }
            }
            TopLevel::Def(def) if def.start != except.start => {
                out.push('\n');
                for l in def.start..def.end {
                    out.push_str(&doc.line(l));
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
    out
}

/// An evolved node's header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub line: usize,
    pub node_id: String,
    pub version: i64,
}

pub fn header_at(doc: &Document, line: usize) -> Option<Header> {
    let text = doc.line(line);
    let (_, body) = comment_body(&text)?;
    let rest = body.strip_prefix(HEADER_MARKER)?.trim();
    let mut words = rest.split_whitespace();
    let node_id = words.next()?.to_string();
    let version = words.next()?.strip_prefix('v')?.parse().ok()?;
    Some(Header { line, node_id, version })
}

/// Every evolved header in the document.
pub fn headers(doc: &Document) -> Vec<Header> {
    // Only lines that hold the marker are parsed: one pass over the text's chunks for it (a
    // 100,000-line file has a handful of headers, not 100,000 lines worth reading one by one).
    let mut lines: Vec<usize> = Vec::new();
    let mut offset = 0;
    let mut carry = String::new(); // a marker split across two chunks
    for chunk in doc.text.chunks() {
        let window = format!("{carry}{chunk}");
        let base = offset - carry.len();
        for (at, _) in window.match_indices(HEADER_MARKER) {
            let line = doc.text.byte_to_line(base + at);
            if lines.last() != Some(&line) {
                lines.push(line);
            }
        }
        offset += chunk.len();
        let keep = window.len().min(HEADER_MARKER.len() - 1);
        let mut cut = window.len() - keep;
        while !window.is_char_boundary(cut) {
            cut += 1;
        }
        carry = window[cut..].to_string();
    }
    lines.dedup();
    lines.into_iter().filter_map(|l| header_at(doc, l)).collect()
}

/// Where a task comment is now: the line with the same text nearest to where it was, or none.
pub fn find_again(doc: &Document, comment: &TaskComment) -> Option<usize> {
    (0..doc.line_count()).filter(|&l| doc.line(l) == comment.text).min_by_key(|&l| l.abs_diff(comment.line))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "import os\n\n# evolve: add two numbers\n\n@cache\ndef outer(a,\n          b):\n    x = 1\n\n    def inner():\n        return x\n    return inner\n\n\n# evolved: add-1a2b3c v2 · 3/3 tests\ndef add(a, b):\n    return a + b\n";

    #[test]
    fn finds_task_comments_functions_and_headers() {
        let doc = Document::new(SOURCE, 1, "python");
        let task = task_comment(&doc, 2, false).unwrap();
        assert_eq!(task.task, "add two numbers");
        assert!(task_comment(&doc, 0, false).is_none());
        assert!(task_comment(&doc, 14, true).is_none(), "a header is not a task");
        let outer = function_at(&doc, 7).unwrap();
        assert_eq!((outer.name.as_str(), outer.start, outer.def_line, outer.end), ("outer", 4, 5, 12));
        assert_eq!(function_at(&doc, 10).unwrap().name, "inner");
        assert_eq!(function_at(&doc, 11).unwrap().name, "outer");
        assert!(function_at(&doc, 0).is_none());
        assert!(function_at(&doc, 13).is_none(), "a blank line after a function is not in it");
        // Module-level code between functions ends them; a class's method is still found.
        let doc2 = Document::new(
            "def a():\n    return 1\n\nx = a()\n\nclass C:\n    def m(self):\n        return 2\n    y = 3\n",
            1,
            "python",
        );
        assert!(function_at(&doc2, 3).is_none());
        assert_eq!(function_at(&doc2, 7).unwrap().name, "m");
        assert!(function_at(&doc2, 8).is_none(), "a class attribute is in no function");
        assert_eq!(headers(&doc), vec![Header { line: 14, node_id: "add-1a2b3c".into(), version: 2 }]);
        let names: Vec<_> = functions(&doc).into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["outer", "inner", "add"]);
    }

    #[test]
    fn a_selected_comment_block_is_one_task_and_a_moved_comment_is_found_again() {
        let doc = Document::new("x = 1\n# parse ISO dates\n# from a log line\ny = 2\n", 1, "python");
        let block = selected_comment_block(&doc, 1, 2).unwrap();
        assert_eq!((block.task.as_str(), block.line), ("parse ISO dates from a log line", 2));
        assert!(selected_comment_block(&doc, 0, 2).is_none(), "code in the selection: not a comment block");
        let moved = Document::new("new line\nx = 1\n# parse ISO dates\n# from a log line\n", 2, "python");
        assert_eq!(find_again(&moved, &block), Some(3));
        let gone = Document::new("x = 1\n", 3, "python");
        assert_eq!(find_again(&gone, &block), None);
    }

    /// A docstring whose lines go back to column 0 and a `def` inside a string are text: the
    /// function still spans its whole body, and no function is found in the string.
    #[test]
    fn strings_are_text_not_structure() {
        let text = "import re\n\nPATTERN = re.compile('x')\n\n\ndef parse(line):\n    \"\"\"Parse a line.\n\nExample:\ndef not_code():\n    pass\n\"\"\"\n    found = PATTERN.findall(line)\n    return found\n\n\nTEMPLATE = '''\ndef template():\n    pass\n'''\n";
        let doc = Document::new(text, 1, "python");
        let parse = function_at(&doc, 12).unwrap();
        assert_eq!((parse.name.as_str(), parse.start, parse.end), ("parse", 5, 14));
        assert_eq!(function_at(&doc, 9).unwrap().name, "parse", "a line of the docstring is in the function");
        assert!(function_at(&doc, 17).is_none(), "a `def` in a string is no function");
        let names: Vec<_> = functions(&doc).into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["parse"]);
        assert_eq!(function_source(&doc, &parse).lines().count(), 9);
        let context = module_context(&doc, &parse);
        assert!(context.contains("import re\nPATTERN = re.compile('x')\n"), "{context}");
        assert!(!context.contains("def parse"), "{context}");
    }

    #[test]
    fn headers_in_a_large_file_match_a_line_by_line_scan() {
        let mut text = String::new();
        for i in 0..20_000 {
            if i % 997 == 0 {
                text.push_str(&format!("    # evolved: step_{i}-abc123 v{} · 3/3 tests pass · é\n", i % 7 + 1));
            } else {
                text.push_str(&format!("x_{i} = {i}  # évolved: not a header, évolved:\n"));
            }
        }
        let doc = Document::new(&text, 1, "python");
        let naive: Vec<Header> = (0..doc.line_count()).filter_map(|l| header_at(&doc, l)).collect();
        assert_eq!(naive.len(), 21);
        assert_eq!(headers(&doc), naive);
    }
}
