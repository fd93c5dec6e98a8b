//! Bounding text that came from a node before it is kept in memory or stored.

/// Longest status or event message kept, in bytes.
pub(crate) const MAX_MESSAGE_BYTES: usize = 1024;
/// Longest node `address` kept, in bytes.
pub(crate) const MAX_ADDRESS_BYTES: usize = 256;

/// `text` cut to at most `max_bytes`, on a character boundary.
pub(crate) fn clip(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// [`clip`] for an optional message.
pub(crate) fn clip_message(message: Option<String>) -> Option<String> {
    message.map(|m| {
        if m.len() <= MAX_MESSAGE_BYTES {
            m
        } else {
            clip(&m, MAX_MESSAGE_BYTES)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_on_char_boundaries() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdef", 3), "abc");
        assert_eq!(clip("ééé", 5), "éé");
        assert_eq!(
            clip_message(Some("x".repeat(2000))).unwrap().len(),
            MAX_MESSAGE_BYTES
        );
        assert_eq!(clip_message(None), None);
    }
}
