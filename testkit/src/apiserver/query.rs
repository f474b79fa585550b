//! [`Query`]: the query parameters of a request, as the handlers read them.

use std::collections::HashMap;

use super::status::ApiError;

/// Query parameters, percent-decoded; a repeated name keeps its first value.
#[derive(Debug, Default)]
pub(crate) struct Query(HashMap<String, String>);

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let mut map = HashMap::new();
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.entry(decode(k)).or_insert_with(|| decode(v));
        }
        Query(map)
    }

    /// The value of `name`, if present and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether `name` is `true` or `1`, as Go's `strconv.ParseBool` accepts them.
    pub(crate) fn flag(&self, name: &str) -> bool {
        matches!(
            self.get(name),
            Some("true" | "1" | "True" | "TRUE" | "t" | "T")
        )
    }

    /// `name` parsed as a number.
    ///
    /// # Errors
    ///
    /// [`ApiError::BadRequest`] when the value is not a number.
    pub(crate) fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    ApiError::BadRequest(format!("invalid value for {name}: {v:?} is not a number"))
                })
            })
            .transpose()
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn decode(s: &str) -> String {
    let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits make one byte; they cannot exceed 255.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 2;
            }
            (b, _, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded() {
        let q = Query::parse(Some(
            "fieldSelector=metadata.name%3Dweb.1%2Cmetadata.namespace%21%3Ddemo&labelSelector=a+b&watch=1",
        ));
        assert_eq!(
            q.get("fieldSelector"),
            Some("metadata.name=web.1,metadata.namespace!=demo")
        );
        assert_eq!(q.get("labelSelector"), Some("a b"));
        assert!(q.flag("watch"));
        assert!(!q.flag("allowWatchBookmarks"));
    }

    #[test]
    fn malformed_escapes_and_numbers_do_not_panic() {
        let q = Query::parse(Some("a=%zz&b=%4&c=%&limit=ten"));
        assert_eq!(q.get("a"), Some("%zz"));
        assert_eq!(q.get("b"), Some("%4"));
        assert_eq!(q.get("c"), Some("%"));
        assert!(matches!(q.number("limit"), Err(ApiError::BadRequest(_))));
        assert_eq!(q.number("timeoutSeconds").unwrap(), None);
    }
}
