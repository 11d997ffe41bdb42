//! Where an evolve's code goes and how it gets there without touching text the user wrote
//! meanwhile: below the task comment (found again by its text if lines moved) or in place of the
//! selection (only while the selected text is still there, unchanged).

use tower_lsp_server::ls_types::*;

use super::document::{Document, Encoding};
use super::locate::{self, HEADER_MARKER, TaskComment};

/// What an evolve starts from.
#[derive(Debug, Clone)]
pub enum Target {
    /// A task comment: the code is inserted below it.
    Below(TaskComment),
    /// Selected text that is not a comment: the code replaces it.
    Replace { range: Range, text: String, task: String },
}

impl Target {
    pub fn task(&self) -> &str {
        match self {
            Target::Below(c) => &c.task,
            Target::Replace { task, .. } => task,
        }
    }
}

/// The evolve target at `range`: a selection (a comment block, or text to replace), else the
/// task comment on the cursor's line.
pub fn evolve_target(doc: &Document, range: Range, encoding: Encoding) -> Option<Target> {
    if range.start != range.end {
        let last = if range.end.character == 0 && range.end.line > range.start.line {
            range.end.line - 1
        } else {
            range.end.line
        };
        if let Some(block) = locate::selected_comment_block(doc, range.start.line as usize, last as usize) {
            return Some(Target::Below(block));
        }
        let text = doc.slice(range, encoding);
        let task = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if task.is_empty() {
            return None;
        }
        return Some(Target::Replace { range, text, task });
    }
    locate::task_comment(doc, range.start.line as usize, false).map(Target::Below)
}

/// The text an evolve inserts: a header naming the node and its figures, then the code, indented
/// like the task comment.
pub fn evolved_block(indent: &str, marker: &str, header: &str, code: &str) -> String {
    let mut out = format!("{indent}{marker} {HEADER_MARKER} {header}\n");
    for line in code.trim_end().lines() {
        if line.trim().is_empty() {
            out.push('\n');
        } else {
            out.push_str(indent);
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The edit that puts `block` where `target` says, on the document as it is now, or why it cannot
/// (the user removed or changed the text the evolve started from).
pub fn place(
    doc: &Document,
    target: &Target,
    started_version: i32,
    block: &str,
    encoding: Encoding,
) -> Result<TextEdit, String> {
    match target {
        Target::Below(comment) => {
            let line = if doc.version == started_version {
                comment.line
            } else {
                locate::find_again(doc, comment)
                    .ok_or_else(|| format!("the task comment `{}` is no longer in the document", comment.text.trim()))?
            };
            // Below the comment; a comment on the last line without a line break gets one.
            let (at, text) = if line + 1 < doc.line_count() {
                (Position::new(line as u32 + 1, 0), block.to_string())
            } else {
                (doc.line_end(line, encoding), format!("\n{}", block.trim_end_matches('\n')))
            };
            Ok(TextEdit { range: Range::new(at, at), new_text: text })
        }
        Target::Replace { range, text, .. } => {
            let range = if doc.version == started_version && doc.slice(*range, encoding) == *text {
                *range
            } else {
                let whole = doc.to_text();
                let mut found = whole.match_indices(text.as_str());
                match (found.next(), found.next()) {
                    (Some((byte, _)), None) => {
                        let start = whole[..byte].chars().count();
                        let end = start + text.chars().count();
                        Range::new(doc.position(start, encoding), doc.position(end, encoding))
                    }
                    (None, _) => return Err("the selected text was changed while the evolve ran".into()),
                    (Some(_), Some(_)) => {
                        return Err(
                            "the selected text now appears more than once; which one to replace is unclear".into()
                        );
                    }
                }
            };
            Ok(TextEdit { range, new_text: block.trim_end_matches('\n').to_string() })
        }
    }
}

/// A workspace edit of one document at `version`: versioned `documentChanges` when the client
/// takes them (it then refuses the edit if the document moved on), else plain `changes`.
pub fn workspace_edit(uri: &Uri, version: i32, edits: Vec<TextEdit>, document_changes: bool) -> WorkspaceEdit {
    if document_changes {
        WorkspaceEdit {
            document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier { uri: uri.clone(), version: Some(version) },
                edits: edits.into_iter().map(OneOf::Left).collect(),
            }])),
            ..Default::default()
        }
    } else {
        WorkspaceEdit { changes: Some([(uri.clone(), edits)].into_iter().collect()), ..Default::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(doc: &mut Document, edit: &TextEdit) {
        let change =
            TextDocumentContentChangeEvent { range: Some(edit.range), range_length: None, text: edit.new_text.clone() };
        doc.apply(doc.version + 1, &[change], Encoding::Utf16);
    }

    #[test]
    fn code_goes_below_the_comment_even_after_lines_moved() {
        let doc = Document::new("x = 1\n# evolve: add two numbers\ny = 2\n", 1, "python");
        let target =
            evolve_target(&doc, Range::new(Position::new(1, 3), Position::new(1, 3)), Encoding::Utf16).unwrap();
        assert_eq!(target.task(), "add two numbers");
        let block = evolved_block("", "#", "add-1 v1", "def add(a, b):\n    return a + b\n");
        // The user added two lines above while the evolve ran.
        let mut moved = Document::new("import os\n\nx = 1\n# evolve: add two numbers\ny = 2\n", 2, "python");
        let edit = place(&moved, &target, 1, &block, Encoding::Utf16).unwrap();
        apply(&mut moved, &edit);
        assert_eq!(
            moved.to_text(),
            "import os\n\nx = 1\n# evolve: add two numbers\n# evolved: add-1 v1\ndef add(a, b):\n    return a + b\ny = 2\n"
        );
        // The comment was deleted: refuse.
        let gone = Document::new("x = 1\ny = 2\n", 3, "python");
        assert!(place(&gone, &target, 1, &block, Encoding::Utf16).is_err());
    }

    #[test]
    fn a_selection_is_replaced_only_while_it_is_unchanged() {
        let doc = Document::new("a = 1\nsum of a list\nb = 2\n", 1, "python");
        let range = Range::new(Position::new(1, 0), Position::new(1, 13));
        let target = evolve_target(&doc, range, Encoding::Utf16).unwrap();
        assert!(matches!(target, Target::Replace { .. }));
        let mut later = Document::new("zz\na = 1\nsum of a list\nb = 2\n", 2, "python");
        let edit = place(&later, &target, 1, "def total(xs):\n    return sum(xs)\n", Encoding::Utf16).unwrap();
        apply(&mut later, &edit);
        assert_eq!(later.to_text(), "zz\na = 1\ndef total(xs):\n    return sum(xs)\nb = 2\n");
        let edited = Document::new("a = 1\nsum of a list!\n", 3, "python");
        let ok = place(&edited, &target, 1, "x", Encoding::Utf16);
        assert!(ok.is_ok(), "the original text is still there, inside the longer line");
        let changed = Document::new("a = 1\nsum of the list\n", 3, "python");
        assert!(place(&changed, &target, 1, "x", Encoding::Utf16).is_err());
    }

    #[test]
    fn a_comment_on_the_last_line_gets_a_line_break() {
        let doc = Document::new("# evolve: add", 1, "python");
        let target =
            evolve_target(&doc, Range::new(Position::new(0, 0), Position::new(0, 0)), Encoding::Utf16).unwrap();
        let edit = place(&doc, &target, 1, "# evolved: h\ndef f():\n    pass\n", Encoding::Utf16).unwrap();
        let mut doc = doc;
        apply(&mut doc, &edit);
        assert_eq!(doc.to_text(), "# evolve: add\n# evolved: h\ndef f():\n    pass");
    }
}
