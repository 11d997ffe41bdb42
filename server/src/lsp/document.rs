//! An open document: its text in a rope, its version, and conversion between LSP positions (in
//! the negotiated encoding, UTF-16 code units by default) and character offsets.

use ropey::Rope;
use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent};

/// How a position's `character` counts: the client's choice at `initialize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Utf16,
    Utf8,
}

#[derive(Debug, Clone)]
pub struct Document {
    pub text: Rope,
    pub version: i32,
    pub language: String,
    /// The Python syntax tree of `text` (Python documents only): edited with each change and
    /// reparsed incrementally off the request path (`lsp::refresh_tree`); structure comes from
    /// the parser, not from scanning lines.
    pub tree: Option<tree_sitter::Tree>,
    /// The version `tree` was parsed for (it may lag a moment behind `version`, edited to match).
    pub tree_version: Option<i32>,
}

impl Document {
    /// A document with its syntax tree (code the server handles itself, tests).
    pub fn new(text: &str, version: i32, language: &str) -> Document {
        let mut doc = Document::opened(text, version, language);
        if let Some(tree) = doc.reparsed() {
            doc.set_tree(version, tree);
        }
        doc
    }

    /// A document the editor opened: the tree comes later, parsed off the request path.
    pub fn opened(text: &str, version: i32, language: &str) -> Document {
        Document { text: Rope::from_str(text), version, language: language.to_string(), tree: None, tree_version: None }
    }

    pub fn is_python(&self) -> bool {
        self.language == "python"
    }

    /// Whether the tree lags behind the text.
    pub fn needs_parse(&self) -> bool {
        self.is_python() && self.tree_version != Some(self.version)
    }

    /// Takes a tree parsed for `version` (a parse of an older text is dropped).
    pub fn set_tree(&mut self, version: i32, tree: tree_sitter::Tree) {
        if version == self.version {
            self.tree = Some(tree);
            self.tree_version = Some(version);
        }
    }

    /// A parse of the text as it is, reusing the (edited) tree for what did not change.
    pub fn reparsed(&self) -> Option<tree_sitter::Tree> {
        if !self.is_python() {
            return None;
        }
        let text = &self.text;
        let mut chunk_at = |byte: usize| -> &[u8] {
            if byte >= text.len_bytes() {
                return &[];
            }
            let (chunk, chunk_start, _, _) = text.chunk_at_byte(byte);
            &chunk.as_bytes()[byte - chunk_start..]
        };
        crate::python::parse_chunks(&mut chunk_at, self.tree.as_ref())
    }

    /// The byte offset and tree-sitter point of a character offset.
    fn point_of(&self, char_offset: usize) -> (usize, tree_sitter::Point) {
        let byte = self.text.char_to_byte(char_offset);
        let line = self.text.byte_to_line(byte);
        (byte, tree_sitter::Point { row: line, column: byte - self.text.line_to_byte(line) })
    }

    /// Applies `didChange` events in order (full replacements or ranges).
    pub fn apply(&mut self, version: i32, changes: &[TextDocumentContentChangeEvent], encoding: Encoding) {
        for change in changes {
            match change.range {
                None => {
                    self.text = Rope::from_str(&change.text);
                    self.tree = None;
                    self.tree_version = None;
                }
                Some(range) => {
                    let start = self.char_offset(range.start, encoding);
                    let end = self.char_offset(range.end, encoding).max(start);
                    let (start_byte, start_position) = self.point_of(start);
                    let (old_end_byte, old_end_position) = self.point_of(end);
                    self.text.remove(start..end);
                    self.text.insert(start, &change.text);
                    if let Some(tree) = self.tree.as_mut() {
                        let (new_end_byte, new_end_position) = {
                            let new_end = start + change.text.chars().count();
                            let byte = self.text.char_to_byte(new_end);
                            let line = self.text.byte_to_line(byte);
                            (byte, tree_sitter::Point { row: line, column: byte - self.text.line_to_byte(line) })
                        };
                        crate::python::edit(
                            tree,
                            &tree_sitter::InputEdit {
                                start_byte,
                                old_end_byte,
                                new_end_byte,
                                start_position,
                                old_end_position,
                                new_end_position,
                            },
                        );
                    }
                }
            }
        }
        self.version = version;
    }

    /// The character offset of `position`, clamped to the document (the protocol allows a
    /// character past the line's end, meaning its end).
    pub fn char_offset(&self, position: Position, encoding: Encoding) -> usize {
        let lines = self.text.len_lines();
        let line = position.line as usize;
        if line >= lines {
            return self.text.len_chars();
        }
        let line_start = self.text.line_to_char(line);
        let line_text = self.text.line(line);
        // The line's own length, without its line break.
        let mut line_chars = line_text.len_chars();
        while line_chars > 0 && matches!(line_text.char(line_chars - 1), '\n' | '\r') {
            line_chars -= 1;
        }
        let wanted = position.character as usize;
        let mut units = 0;
        for (i, c) in line_text.chars().take(line_chars).enumerate() {
            if units >= wanted {
                return line_start + i;
            }
            units += match encoding {
                Encoding::Utf16 => c.len_utf16(),
                Encoding::Utf8 => c.len_utf8(),
            };
        }
        line_start + line_chars
    }

    /// The LSP position of a character offset.
    pub fn position(&self, char_offset: usize, encoding: Encoding) -> Position {
        let offset = char_offset.min(self.text.len_chars());
        let line = self.text.char_to_line(offset);
        let line_start = self.text.line_to_char(line);
        let character: usize = self
            .text
            .slice(line_start..offset)
            .chars()
            .map(|c| match encoding {
                Encoding::Utf16 => c.len_utf16(),
                Encoding::Utf8 => c.len_utf8(),
            })
            .sum();
        Position::new(line as u32, character as u32)
    }

    /// The text of `range`.
    pub fn slice(&self, range: Range, encoding: Encoding) -> String {
        let start = self.char_offset(range.start, encoding);
        let end = self.char_offset(range.end, encoding).max(start);
        self.text.slice(start..end).to_string()
    }

    /// Line `n` without its line break ("" past the end).
    pub fn line(&self, n: usize) -> String {
        if n >= self.text.len_lines() {
            return String::new();
        }
        self.text.line(n).to_string().trim_end_matches(['\n', '\r']).to_string()
    }

    pub fn line_count(&self) -> usize {
        self.text.len_lines()
    }

    /// The end of line `n` (before its line break).
    pub fn line_end(&self, n: usize, encoding: Encoding) -> Position {
        let units: usize = self
            .line(n)
            .chars()
            .map(|c| match encoding {
                Encoding::Utf16 => c.len_utf16(),
                Encoding::Utf8 => c.len_utf8(),
            })
            .sum();
        Position::new(n as u32, units as u32)
    }

    pub fn to_text(&self) -> String {
        self.text.to_string()
    }
}

/// Lines as LSP counts them, for the parser's byte offsets.
impl crate::python::Lines for Document {
    fn line_of(&self, byte: usize) -> usize {
        self.text.byte_to_line(byte.min(self.text.len_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(range: Option<((u32, u32), (u32, u32))>, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: range.map(|((a, b), (c, d))| Range::new(Position::new(a, b), Position::new(c, d))),
            range_length: None,
            text: text.into(),
        }
    }

    #[test]
    fn incremental_edits_count_utf16_units_by_default_and_bytes_in_utf8() {
        // "é" is 1 UTF-16 unit and 2 UTF-8 bytes; "😀" is 2 units and 4 bytes.
        let mut doc = Document::new("a😀é = 1\nb = 2\n", 1, "python");
        doc.apply(2, &[change(Some(((0, 3), (0, 4))), "e")], Encoding::Utf16);
        assert_eq!(doc.line(0), "a😀e = 1");
        let mut doc8 = Document::new("a😀é = 1\nb = 2\n", 1, "python");
        doc8.apply(2, &[change(Some(((0, 5), (0, 7))), "e")], Encoding::Utf8);
        assert_eq!(doc8.line(0), "a😀e = 1");
        assert_eq!(doc8.version, 2);
        // Several changes apply in order; a position past a line's end means its end.
        doc.apply(
            3,
            &[change(Some(((1, 0), (1, 1))), "c"), change(Some(((1, 99), (1, 99))), "  # x")],
            Encoding::Utf16,
        );
        assert_eq!(doc.line(1), "c = 2  # x");
        doc.apply(4, &[change(None, "new\n")], Encoding::Utf16);
        assert_eq!(doc.to_text(), "new\n");
    }

    #[test]
    fn positions_round_trip() {
        let doc = Document::new("x😀y\nz", 1, "python");
        for enc in [Encoding::Utf16, Encoding::Utf8] {
            for offset in 0..doc.text.len_chars() {
                assert_eq!(doc.char_offset(doc.position(offset, enc), enc), offset, "{enc:?} {offset}");
            }
        }
        assert_eq!(doc.position(2, Encoding::Utf16), Position::new(0, 3));
        assert_eq!(doc.line_end(0, Encoding::Utf8), Position::new(0, 6));
    }

    /// LSP's model of a document: lines end at `\n`, `\r\n` or `\r`, nowhere else.
    fn reference_lines(text: &str) -> Vec<(usize, usize)> {
        let bytes = text.as_bytes();
        let (mut lines, mut start, mut i) = (Vec::new(), 0, 0);
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    lines.push((start, i));
                    start = i + 1;
                }
                b'\r' => {
                    lines.push((start, i));
                    if bytes.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        lines.push((start, text.len()));
        lines
    }

    fn reference_offset(text: &str, line: usize, character: usize, encoding: Encoding) -> usize {
        let lines = reference_lines(text);
        let Some(&(start, end)) = lines.get(line) else { return text.len() };
        let mut units = 0;
        for (i, c) in text[start..end].char_indices() {
            if units >= character {
                return start + i;
            }
            units += if encoding == Encoding::Utf16 { c.len_utf16() } else { c.len_utf8() };
        }
        end
    }

    #[test]
    fn random_edits_with_every_line_like_character_match_the_lsp_model() {
        const PIECES: &[&str] = &[
            "a", "é", "😀", "\n", "\r\n", "\r", "\u{b}", "\u{c}", "\u{85}", "\u{2028}", "\u{2029}", " ", "def f():",
            "\t",
        ];
        let mut seed: u64 = 0x5eed_1234_abcd_0001;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % n.max(1)
        };
        for encoding in [Encoding::Utf16, Encoding::Utf8] {
            let mut reference = String::from("x = 1\u{c}\ny = 2\u{2028}z\r\n");
            let mut doc = Document::new(&reference, 1, "python");
            for version in 2..1500 {
                let lines = reference_lines(&reference).len();
                let pos = |next: &mut dyn FnMut(usize) -> usize| {
                    let line = next(lines + 1);
                    (line as u32, next(12) as u32)
                };
                let (a, b) = (pos(&mut next), pos(&mut next));
                let (start, end) = if a <= b { (a, b) } else { (b, a) };
                let text: String = (0..next(4)).map(|_| PIECES[next(PIECES.len())]).collect();
                let s = reference_offset(&reference, start.0 as usize, start.1 as usize, encoding);
                let e = reference_offset(&reference, end.0 as usize, end.1 as usize, encoding).max(s);
                reference.replace_range(s..e, &text);
                doc.apply(version, &[change(Some((start, end)), &text)], encoding);
                let tree = doc.reparsed().unwrap();
                doc.set_tree(version, tree);
                assert_eq!(doc.to_text(), reference, "after edit {version} ({encoding:?})");
                let want = reference_lines(&reference);
                assert_eq!(doc.line_count(), want.len(), "line count after edit {version}: {reference:?}");
                for (i, &(ls, le)) in want.iter().enumerate() {
                    assert_eq!(doc.line(i), &reference[ls..le], "line {i} after edit {version}");
                }
                // The incrementally kept syntax tree is the tree of the text as it is now.
                let kept = doc.tree.as_ref().expect("a Python document keeps its tree");
                let fresh = crate::python::parse(&reference).unwrap();
                assert_eq!(kept.root_node().to_sexp(), fresh.root_node().to_sexp(), "tree after edit {version}");
                assert_eq!(kept.root_node().byte_range(), fresh.root_node().byte_range(), "after edit {version}");
            }
        }
    }
}
