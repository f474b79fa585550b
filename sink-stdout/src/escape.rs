//! [`escape_control`]: strings from the cluster made safe to print on a terminal.
//!
//! Anyone who can create an Event chooses its message, reason and names. Printed raw, an ESC
//! or CSI sequence in them clears the screen, moves the cursor over earlier rows or sets the
//! window title, an OSC 8 sequence hides a link, a carriage return overwrites a row with another,
//! and a bidi override (the "Trojan Source" characters) shows text in another order than it has.
//! Every human-facing writer of this workspace passes cluster strings through here; JSON output
//! does not (serde's escaping keeps it exact, and a JSON reader sees the true bytes).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether [`escape_control`] rewrites `c`: a C0 control (U+0000–U+001F), DEL (U+007F), a C1
/// control (U+0080–U+009F, which some terminals read as escape sequences of their own), or one of
/// the nine bidirectional embedding, override and isolate characters (U+202A–U+202E,
/// U+2066–U+2069).
pub fn is_escaped(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character [`is_escaped`] says is unsafe shown visibly: tab, newline and
/// carriage return as one space (a row stays one line, and a message's line breaks still read
/// as breaks), any other C0 control or DEL as `\x1b`-style hex, a C1 control or a bidi character
/// as `\u{9b}`-style. Text without any is returned as it is, without a copy.
///
/// ```
/// use sink_stdout::escape_control;
///
/// assert_eq!(escape_control("Back-off\x1b[2J\x1b]0;pwned\x07"), "Back-off\\x1b[2J\\x1b]0;pwned\\x07");
/// assert_eq!(escape_control("txt.exe\u{202e}fdp."), "txt.exe\\u{202e}fdp.");
/// assert_eq!(escape_control("first\r\nsecond"), "first  second");
/// assert!(matches!(escape_control("Started"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn escape_control(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(is_escaped) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        match c {
            '\t' | '\n' | '\r' => out.push(' '),
            c if u32::from(c) < 0x80 && is_escaped(c) => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_escaped(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn csi_and_osc_sequences_are_shown_not_run() {
        assert_eq!(escape_control("\x1b[2J\x1b[H"), "\\x1b[2J\\x1b[H");
        assert_eq!(
            escape_control("\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\"),
            "\\x1b]8;;http://evil\\x1b\\click\\x1b]8;;\\x1b\\"
        );
        assert_eq!(escape_control("a\x07b\x00c\x7f"), "a\\x07b\\x00c\\x7f");
    }

    #[test]
    fn c1_controls_and_bidi_overrides_are_shown_as_code_points() {
        assert_eq!(escape_control("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(escape_control("\u{80}\u{9f}"), "\\u{80}\\u{9f}");
        assert_eq!(
            escape_control("\u{202a}\u{202e}\u{2066}\u{2069}"),
            "\\u{202a}\\u{202e}\\u{2066}\\u{2069}"
        );
    }

    #[test]
    fn whitespace_controls_become_spaces() {
        assert_eq!(escape_control("a\tb\nc\rd"), "a b c d");
    }

    #[test]
    fn printable_text_is_kept_as_it_is() {
        for text in [
            "",
            "Back-off restarting",
            "Größe 日本語 ✓",
            "\u{a0}\u{2028}\u{202f}",
        ] {
            assert!(matches!(escape_control(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn the_escaped_set_is_exactly_c0_del_c1_and_the_bidi_controls() {
        let escaped: Vec<u32> = (0..=0x3000)
            .filter_map(char::from_u32)
            .filter(|c| is_escaped(*c))
            .map(u32::from)
            .collect();
        let expected: Vec<u32> = (0..=0x1f)
            .chain(0x7f..=0x9f)
            .chain(0x202a..=0x202e)
            .chain(0x2066..=0x2069)
            .collect();
        assert_eq!(escaped, expected);
    }

    proptest! {
        #[test]
        fn no_escaped_character_ever_reaches_the_output(text in any::<String>()) {
            let shown = escape_control(&text);
            prop_assert!(!shown.chars().any(is_escaped), "{shown:?}");
            // Nothing else is touched: removing the escapes leaves the other characters in order.
            let kept: String = text.chars().filter(|c| !is_escaped(*c)).collect();
            let shown_kept: String = shown.chars().filter(|c| *c != ' ').collect();
            let kept_no_space: String = kept.chars().filter(|c| *c != ' ').collect();
            prop_assert!(is_subsequence(&kept_no_space, &shown_kept));
        }

        #[test]
        fn control_heavy_text_never_passes_a_control(
            text in proptest::collection::vec(
                prop_oneof![
                    (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or(' ')),
                    (0x7fu32..0xa0).prop_map(|c| char::from_u32(c).unwrap_or(' ')),
                    (0x2028u32..0x2070).prop_map(|c| char::from_u32(c).unwrap_or(' ')),
                    any::<char>(),
                ],
                0..64,
            ).prop_map(|chars| chars.into_iter().collect::<String>())
        ) {
            prop_assert!(!escape_control(&text).chars().any(is_escaped));
        }
    }

    fn is_subsequence(needle: &str, haystack: &str) -> bool {
        let mut rest = haystack.chars();
        needle.chars().all(|c| rest.any(|h| h == c))
    }
}
