//! Finds the line of a dotted key path (`backends.local.endpoints`) in block-style YAML text, so
//! errors found after merging can still point at the file and line that set the key.

/// 1-based line of the deepest key of `path` found in `text`.
pub fn line_of_key(text: &str, path: &[String]) -> Option<usize> {
    let mut found = None;
    let mut parent_indent: i64 = -1;
    let mut depth = 0;
    let mut lines = text.lines().enumerate();
    'outer: while depth < path.len() {
        let wanted = &path[depth];
        for (index, line) in lines.by_ref() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = (line.len() - trimmed.len()) as i64;
            if indent <= parent_indent {
                // Left the parent's block without finding the key.
                return found;
            }
            let key = trimmed
                .trim_start_matches("- ")
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(|c| c == '"' || c == '\'');
            if key == wanted && trimmed.contains(':') {
                found = Some(index + 1);
                parent_indent = indent;
                depth += 1;
                continue 'outer;
            }
        }
        break;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys() {
        let text = "a:\n  b: 1\nbackends:\n  # c\n  local:\n    url: x\n    kind: ollama\n";
        let path = |p: &str| p.split('.').map(String::from).collect::<Vec<_>>();
        assert_eq!(line_of_key(text, &path("backends.local.kind")), Some(7));
        assert_eq!(line_of_key(text, &path("a.b")), Some(2));
        assert_eq!(line_of_key(text, &path("backends.other")), Some(3));
    }
}
