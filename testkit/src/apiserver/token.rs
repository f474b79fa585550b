//! List continue tokens in kube-apiserver's format: unpadded URL-safe base64 of
//! `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}`, the key relative to the list's prefix.

use serde::{Deserialize, Serialize};

use super::object::Key;

const VERSION: &str = "meta.k8s.io/v1";
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[derive(Serialize, Deserialize)]
struct Token {
    v: String,
    rv: u64,
    start: String,
}

/// Why a continue token was refused (HTTP 400).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("continue key is not valid: {0}")]
pub(crate) struct BadToken(&'static str);

/// Encodes the snapshot `rv` and the last key served, for a list across namespaces when
/// `all_namespaces` (the key then includes the namespace).
pub(crate) fn encode(rv: u64, last: &Key, all_namespaces: bool) -> String {
    let relative = if all_namespaces && !last.0.is_empty() {
        format!("{}/{}", last.0, last.1)
    } else {
        last.1.clone()
    };
    let token = Token {
        v: VERSION.into(),
        rv,
        // The next page starts at the smallest key after `last`.
        start: format!("{relative}\u{0}"),
    };
    base64url(&serde_json::to_vec(&token).unwrap_or_default())
}

/// Decodes a token into its snapshot resourceVersion and the last key served; `namespace` is
/// the list's namespace (`None` across namespaces), `namespaced` whether keys carry one.
pub(crate) fn decode(
    token: &str,
    namespace: Option<&str>,
    namespaced: bool,
) -> Result<(u64, Key), BadToken> {
    let bytes = unbase64url(token).ok_or(BadToken("not base64"))?;
    let token: Token = serde_json::from_slice(&bytes).map_err(|_| BadToken("not JSON"))?;
    if token.v != VERSION {
        return Err(BadToken("unknown version"));
    }
    let start = token.start.strip_suffix('\u{0}').unwrap_or(&token.start);
    let key = match (namespaced, namespace) {
        (true, None) => {
            let (ns, name) = start
                .split_once('/')
                .ok_or(BadToken("no namespace in key"))?;
            Key(ns.to_owned(), name.to_owned())
        }
        (true, Some(ns)) => Key(ns.to_owned(), start.to_owned()),
        (false, _) => Key(String::new(), start.to_owned()),
    };
    Ok((token.rv, key))
}

fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn unbase64url(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        // Accept the standard alphabet too, as Go's decoder for raw URL encoding does not,
        // but clients that re-encode tokens sometimes produce it.
        let v = match c {
            b'+' => 62,
            b'/' => 63,
            _ => ALPHABET.iter().position(|a| *a == c)?,
        };
        acc = acc << 6 | u32::try_from(v).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from(acc >> bits & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_with_and_without_namespace_in_the_key() {
        let key = Key("demo".to_owned(), "web.18ead50b386e4f85".to_owned());
        let all = encode(6214, &key, true);
        assert_eq!(decode(&all, None, true), Ok((6214, key.clone())));
        let one = encode(6214, &key, false);
        assert_eq!(decode(&one, Some("demo"), true), Ok((6214, key)));
        let node = Key(String::new(), "node-1".to_owned());
        assert_eq!(decode(&encode(7, &node, true), None, false), Ok((7, node)));
    }

    #[test]
    fn tokens_use_the_real_servers_layout() {
        let key = Key(
            "demo".to_owned(),
            "web-99cc9cdb.18ead50b386e4f85".to_owned(),
        );
        let token = encode(6214, &key, true);
        assert!(!token.contains(['=', '+', '/']));
        let json = String::from_utf8(unbase64url(&token).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"v":"meta.k8s.io/v1","rv":6214,"start":"demo/web-99cc9cdb.18ead50b386e4f85\u0000"}"#
        );
    }

    #[test]
    fn garbage_tokens_are_rejected_not_panicking() {
        assert!(decode("!!!", None, true).is_err());
        assert!(decode(&base64url(b"{}"), None, true).is_err());
        assert!(decode(&base64url(br#"{"v":"x","rv":1,"start":"a"}"#), None, true).is_err());
        assert!(
            decode(
                &base64url(br#"{"v":"meta.k8s.io/v1","rv":1,"start":"a"}"#),
                None,
                true
            )
            .is_err()
        );
    }
}
