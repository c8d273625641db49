//! Bounded text: what the gateway keeps of, or repeats back from, text a
//! stranger sent (a request path, an adapter's message quoting its
//! input), cut to a length and saying how much was cut.

/// `text` cut to at most `max` bytes (on a character boundary) plus a note
/// of how many bytes were cut.
pub fn cut(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...(+{} bytes)", &text[..end], text.len() - end)
}

/// The most [`cut`] adds past its `max`: the note of what was cut.
pub const CUT_NOTE: usize = "...(+18446744073709551615 bytes)".len();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_on_a_character_boundary_and_says_how_much_went() {
        assert_eq!(cut("short".into(), 10), "short");
        let cut_text = cut("é".repeat(10), 5);
        assert_eq!(cut_text, "éé...(+16 bytes)");
        assert!(cut_text.len() <= 5 + CUT_NOTE);
    }
}
