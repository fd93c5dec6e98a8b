//! How values read on the pages: times (UTC in the markup, turned into the viewer's zone by
//! `app.js`, UTC kept on hover), grouped numbers, and untrusted text with its control
//! characters made visible (a terminal escape shows as `\x1b`, never acts). HTML escaping is
//! the templates' job; these only prepare the text.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use honeybee_protocol::Timestamp;

/// A time as the templates show it.
#[derive(Debug, Clone)]
pub(crate) struct When {
    /// RFC 3339 UTC (`<time datetime>`; scripts read it).
    pub iso: String,
    /// `2026-12-05 03:20:11 UTC`: the text until a script shows local time, and the hover.
    pub utc: String,
}

pub(crate) fn when(time: SystemTime) -> When {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let full = Timestamp::from_system_time(UNIX_EPOCH + Duration::from_secs(secs)).to_string();
    // Whole seconds: the fraction (always zero here) is left out.
    let iso = match full.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => full,
    };
    let utc = format!("{} UTC", iso.trim_end_matches('Z').replacen('T', " ", 1));
    When { iso, utc }
}

/// `1234567` → `1,234,567`.
pub(crate) fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Longest untrusted text shown in a table cell, in characters.
pub(crate) const CELL_CHARS: usize = 300;

/// Untrusted text for display: control and bidirectional-override characters written out as
/// escapes, cut at `max` characters (with an ellipsis).
pub(crate) fn shown(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        match c {
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            '\u{80}'..='\u{9f}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(shown("a\x1b[31mb\n", 100), "a\\x1b[31mb\\x0a");
        assert_eq!(shown("x\u{202e}y", 100), "x\\u{202e}y");
        assert_eq!(shown("<script>", 100), "<script>");
        assert_eq!(shown("abcdef", 3), "abc…");
    }

    #[test]
    fn times_are_utc_with_seconds() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let w = when(t);
        assert_eq!(w.iso, "2023-11-14T22:13:20Z");
        assert_eq!(w.utc, "2023-11-14 22:13:20 UTC");
    }
}
