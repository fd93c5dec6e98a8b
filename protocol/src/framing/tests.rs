//! Table tests for the frame splitter: each framing rule, fed whole, byte by byte, and in
//! every two-piece split.

use super::*;

/// How an item is written in the tables: `"D:text"` for data, `"TOO_LARGE"`, `"OVERFLOW"`.
fn show(items: &[Frame]) -> Vec<String> {
    items
        .iter()
        .map(|item| match item {
            Frame::Data(b) => format!("D:{}", String::from_utf8_lossy(b)),
            Frame::TooLarge => "TOO_LARGE".to_owned(),
            Frame::Overflow => "OVERFLOW".to_owned(),
        })
        .collect()
}

fn split_whole(input: &[u8], max: usize) -> Vec<String> {
    let mut s = FrameSplitter::new(max);
    let mut items = s.push(input);
    items.extend(s.finish());
    show(&items)
}

/// Runs `input` whole, byte by byte, and split in two at every position: all must agree.
fn check(name: &str, input: &str, max: usize, want: &[&str]) {
    let input = input.as_bytes();
    assert_eq!(split_whole(input, max), want, "{name}: whole");
    let mut s = FrameSplitter::new(max);
    let mut items = Vec::new();
    for b in input {
        items.extend(s.push(std::slice::from_ref(b)));
    }
    items.extend(s.finish());
    assert_eq!(show(&items), want, "{name}: byte by byte");
    for cut in 0..=input.len() {
        let mut s = FrameSplitter::new(max);
        let mut items = s.push(&input[..cut]);
        items.extend(s.push(&input[cut..]));
        items.extend(s.finish());
        assert_eq!(show(&items), want, "{name}: split at {cut}");
    }
}

#[test]
fn framing_rules() {
    let table: &[(&str, &str, usize, &[&str])] = &[
        ("one line", "{\"a\":1}\n", 64, &["D:{\"a\":1}"]),
        ("no newline needed", "{\"a\":1}", 64, &["D:{\"a\":1}"]),
        (
            "back to back",
            "{}{\"b\":{}}",
            64,
            &["D:{}", "D:{\"b\":{}}"],
        ),
        (
            "spaces and tabs between",
            "{} \t {}\n",
            64,
            &["D:{}", "D:{}"],
        ),
        ("leading blanks", "  \t{}\n", 64, &["D:{}"]),
        ("CRLF", "{}\r\n{}\r\n", 64, &["D:{}", "D:{}"]),
        ("blank lines", "\n\r\n\n{}\n\n", 64, &["D:{}"]),
        (
            "braces in strings",
            r#"{"a":"}{"}"#,
            64,
            &[r#"D:{"a":"}{"}"#],
        ),
        (
            "escaped quote in string",
            r#"{"a":"\"}"}"#,
            64,
            &[r#"D:{"a":"\"}"}"#],
        ),
        (
            "escaped backslash ends string",
            r#"{"a":"\\"}{}"#,
            64,
            &[r#"D:{"a":"\\"}"#, "D:{}"],
        ),
        (
            "nested",
            r#"{"a":{"b":{"c":{}}}}"#,
            64,
            &[r#"D:{"a":{"b":{"c":{}}}}"#],
        ),
        (
            "newline cuts an object",
            "{\"a\":\n{}\n",
            64,
            &["D:{\"a\":", "D:{}"],
        ),
        (
            "newline inside a string cuts too",
            "{\"a\n\":1}\n",
            64,
            &["D:{\"a", "D:\":1}"],
        ),
        (
            "CR before a cutting newline is dropped",
            "{\"a\r\n{}",
            64,
            &["D:{\"a", "D:{}"],
        ),
        ("garbage line", "hello\n{}\n", 64, &["D:hello", "D:{}"]),
        ("garbage line with CRLF", "hello\r\n", 64, &["D:hello"]),
        ("array line", "[1,{}]\n", 64, &["D:[1,{}]"]),
        (
            "garbage after a frame on its line",
            "{} junk {}\n{}",
            64,
            &["D:{}", "D:junk {}", "D:{}"],
        ),
        ("stray closing brace line", "}\n{}", 64, &["D:}", "D:{}"]),
        ("unfinished at the end", "{\"a\":1", 64, &["D:{\"a\":1"]),
        ("unfinished garbage at the end", "abc", 64, &["D:abc"]),
        (
            "exactly the limit",
            "{\"a\":\"123\"}\n",
            11,
            &["D:{\"a\":\"123\"}"],
        ),
        (
            "exactly the limit, CRLF",
            "abcdefghijk\r\n{}",
            11,
            &["D:abcdefghijk", "D:{}"],
        ),
        (
            "one over the limit",
            "{\"a\":\"1234\"}\n{}",
            11,
            &["TOO_LARGE", "D:{}"],
        ),
        (
            "line one over the limit",
            "abcdefghijkl\n{}",
            11,
            &["TOO_LARGE", "D:{}"],
        ),
        (
            "overlong frame discards the rest of its line",
            "{\"a\":\"1234567890\"}{}{}\n{}",
            11,
            &["TOO_LARGE", "D:{}"],
        ),
        (
            "overlong unfinished object",
            "{\"a\":\"1234567890\n{}",
            11,
            &["TOO_LARGE", "D:{}"],
        ),
        (
            "two overlong lines",
            "xxxxxxxxxxxxxxxxx\nyyyyyyyyyyyyyyyyyyy\n{}",
            8,
            &["TOO_LARGE", "TOO_LARGE", "D:{}"],
        ),
        (
            "newline within 4x the limit of the line start",
            // 4 + 16 = 20 bytes before the newline = 4 × 5.
            "{}{}{\"a\":\"12345678\"}\n{}",
            5,
            &["D:{}", "D:{}", "TOO_LARGE", "D:{}"],
        ),
        (
            "no newline within 4x the limit: overflow",
            "{}{}{\"a\":\"123456789\"}\n{}",
            5,
            &["D:{}", "D:{}", "TOO_LARGE", "OVERFLOW"],
        ),
        (
            "nothing after an overflow",
            "aaaaaaaaaaaaaaaaaaaaaaaaa\n{}",
            4,
            &["TOO_LARGE", "OVERFLOW"],
        ),
    ];
    for &(name, input, max, want) in table {
        check(name, input, max, want);
    }
}

#[test]
fn discarding_holds_no_memory() {
    let max = 1024;
    let mut s = FrameSplitter::new(max);
    assert_eq!(show(&s.push(b"{\"blob\":\"")), Vec::<String>::new());
    let chunk = vec![b'A'; 700];
    let mut items = Vec::new();
    for _ in 0..5 {
        items.extend(s.push(&chunk));
        assert!(
            s.pending.len() <= max + 2,
            "pending grew to {}",
            s.pending.len()
        );
    }
    assert_eq!(show(&items), ["TOO_LARGE"]);
    let items = s.push(b"\"}}\n{}\n");
    assert_eq!(show(&items), ["D:{}"]);
}

#[test]
fn a_long_line_of_small_frames_is_fine() {
    let input = "{}".repeat(1000);
    let items = split_whole(input.as_bytes(), 16);
    assert_eq!(items.len(), 1000);
    assert!(items.iter().all(|i| i == "D:{}"));
}

#[cfg(feature = "codec")]
#[test]
fn works_as_a_tokio_util_decoder() {
    use tokio_util::codec::Decoder;

    let mut splitter = FrameSplitter::new(8);
    let mut buf = BytesMut::from(&b"{}\nxxxxxxxxxxxx\n{\"a\":1}{"[..]);
    let mut items = Vec::new();
    while let Some(item) = splitter.decode(&mut buf).unwrap() {
        items.push(item);
    }
    assert_eq!(show(&items), ["D:{}", "TOO_LARGE", "D:{\"a\":1}"]);
    buf.extend_from_slice(b"\"b\"");
    assert_eq!(splitter.decode(&mut buf).unwrap(), None);
    assert_eq!(
        show(&[splitter.decode_eof(&mut buf).unwrap().unwrap()]),
        ["D:{\"b\""]
    );
    assert_eq!(splitter.decode_eof(&mut buf).unwrap(), None);
}
