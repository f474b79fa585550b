//! Header values and credentials from the config: [`Secret`] (a file or an environment
//! variable), [`HeaderValue`], [`Auth`], and reading them once at start-up without ever
//! showing a value.
//!
//! Over 400 lines with its tests only (about 380 without).

use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// Where a secret is read from: a file (a mounted Kubernetes Secret) or an environment
/// variable. Written `{file: PATH}` or `{env: VAR}`.
///
/// A file's trailing line break is dropped. The value is read once, when the sink starts.
///
/// A plain string is refused without being echoed: a token pasted into the config would
/// otherwise end up in the error message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Secret {
    /// The contents of this file.
    File(PathBuf),
    /// The value of this environment variable.
    Env(String),
}

impl Secret {
    fn validate(&self) -> Result<(), String> {
        match self {
            Secret::File(path) if path.as_os_str().is_empty() => {
                Err("names an empty file path; write {file: /path/to/secret}".to_owned())
            }
            Secret::Env(var) if !is_env_name(var) => Err(format!(
                "names the environment variable {var:?}; use letters, digits and '_', not starting with a digit"
            )),
            _ => Ok(()),
        }
    }

    /// Reads the value; `what` names it in errors (never the value).
    fn read(&self, what: &str) -> Result<String, SecretError> {
        let value = match self {
            Secret::File(path) => std::fs::read_to_string(path)
                .map_err(|source| SecretError::File {
                    what: what.to_owned(),
                    path: path.clone(),
                    source,
                })?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
            Secret::Env(var) => std::env::var(var).map_err(|_| SecretError::Env {
                what: what.to_owned(),
                var: var.clone(),
            })?,
        };
        if value.is_empty() {
            return Err(SecretError::Empty {
                what: what.to_owned(),
                from: self.to_string(),
            });
        }
        Ok(value)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

const SECRET_SHAPE: &str = "{file: PATH} or {env: VAR}";

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SECRET_SHAPE)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Secret, E> {
        Err(E::custom(format!(
            "is a plain value (not shown); a secret is read from a file or a variable: write {SECRET_SHAPE}"
        )))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secret, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(format!("is empty; write {SECRET_SHAPE}")));
        };
        let secret = match key.as_str() {
            "file" => Secret::File(map.next_value()?),
            "env" => Secret::Env(map.next_value()?),
            _ => return Err(de::Error::unknown_field(&key, &["file", "env"])),
        };
        if map.next_key::<String>()?.is_some() {
            return Err(de::Error::custom(format!(
                "names more than one source; write {SECRET_SHAPE}"
            )));
        }
        Ok(secret)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::File(path) => write!(f, "file {}", path.display()),
            Secret::Env(var) => write!(f, "environment variable {var}"),
        }
    }
}

fn is_env_name(var: &str) -> bool {
    !var.is_empty()
        && !var.starts_with(|c: char| c.is_ascii_digit())
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The value of an extra header: written in the config (`X-Team: platform`), or a
/// [`Secret`] (`X-Api-Key: {env: HOOK_API_KEY}`).
///
/// `Debug` never shows a written value either: a user may put a key there.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderValue {
    /// The value as written.
    Value(String),
    /// A value read from a file or a variable.
    Secret(Secret),
}

impl fmt::Debug for HeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderValue::Value(_) => f.write_str("Value(<redacted>)"),
            HeaderValue::Secret(secret) => f.debug_tuple("Secret").field(secret).finish(),
        }
    }
}

impl HeaderValue {
    pub(crate) fn validate(&self) -> Result<(), String> {
        match self {
            HeaderValue::Value(value) if !is_header_value(value) => Err(
                "the value holds control characters or line breaks, which HTTP headers cannot carry"
                    .to_owned(),
            ),
            HeaderValue::Value(_) => Ok(()),
            HeaderValue::Secret(secret) => secret.validate(),
        }
    }

    fn read(&self, what: &str) -> Result<String, SecretError> {
        match self {
            HeaderValue::Value(value) => Ok(value.clone()),
            HeaderValue::Secret(secret) => secret.read(what),
        }
    }
}

impl<'de> Deserialize<'de> for HeaderValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = HeaderValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header value, {file: PATH} or {env: VAR}")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<HeaderValue, E> {
                Ok(HeaderValue::Value(value.to_owned()))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<HeaderValue, E> {
                Ok(HeaderValue::Value(value.to_string()))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<HeaderValue, E> {
                Ok(HeaderValue::Value(value.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<HeaderValue, A::Error> {
                Secret::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(HeaderValue::Secret)
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Credentials sent as the `Authorization` header of every request.
///
/// ```yaml
/// auth:
///   bearer: {file: /var/run/secrets/hook/token}
/// ```
///
/// ```yaml
/// auth:
///   basic:
///     username: event-keeper
///     password: {env: HOOK_PASSWORD}
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields, remote = "Self")]
#[non_exhaustive]
pub enum Auth {
    /// `Authorization: Bearer TOKEN`.
    Bearer(Secret),
    /// `Authorization: Basic base64(USERNAME:PASSWORD)`.
    Basic {
        /// The user name, written in the config.
        username: String,
        /// The password.
        password: Secret,
    },
}

/// A plain string is refused without being echoed (serde would quote it as an unknown variant).
impl<'de> Deserialize<'de> for Auth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AuthVisitor;
        impl<'de> Visitor<'de> for AuthVisitor {
            type Value = Auth;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("{bearer: ...} or {basic: ...}")
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Auth, E> {
                Err(E::custom(
                    "is a plain value (not shown); write {bearer: {file: PATH}} or {basic: {username: U, password: {env: VAR}}}",
                ))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Auth, A::Error> {
                Auth::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_any(AuthVisitor)
    }
}

impl Auth {
    pub(crate) fn validate(&self) -> Result<(), String> {
        match self {
            Auth::Bearer(token) => token.validate().map_err(|p| format!("bearer {p}")),
            Auth::Basic { username, password } => {
                if username.is_empty() || username.contains(':') || !is_header_value(username) {
                    return Err(
                        "basic.username is empty or holds ':' or control characters; basic authentication cannot carry it"
                            .to_owned(),
                    );
                }
                password
                    .validate()
                    .map_err(|p| format!("basic.password {p}"))
            }
        }
    }

    /// The `Authorization` header's value.
    fn read(&self) -> Result<String, SecretError> {
        match self {
            Auth::Bearer(token) => Ok(format!("Bearer {}", token.read("auth.bearer")?)),
            Auth::Basic { username, password } => {
                let password = password.read("auth.basic.password")?;
                let pair = format!("{username}:{password}");
                Ok(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
        }
    }
}

fn is_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// A header ready to send; its value is a secret as far as anyone can tell.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ResolvedHeader {
    pub name: String,
    pub value: String,
}

impl fmt::Debug for ResolvedHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: <redacted>", self.name)
    }
}

/// Reads every configured header value and the credentials, in a stable order: the headers
/// by name, then `Authorization`.
pub(crate) fn resolve(
    headers: &std::collections::BTreeMap<String, HeaderValue>,
    auth: Option<&Auth>,
) -> Result<Vec<ResolvedHeader>, SecretError> {
    let mut resolved = Vec::with_capacity(headers.len() + 1);
    for (name, value) in headers {
        let what = format!("headers.{name}");
        let value = value.read(&what)?;
        if !is_header_value(&value) {
            return Err(SecretError::NotAHeaderValue { what });
        }
        resolved.push(ResolvedHeader {
            name: name.clone(),
            value,
        });
    }
    if let Some(auth) = auth {
        let value = auth.read()?;
        if !is_header_value(&value) {
            return Err(SecretError::NotAHeaderValue {
                what: "auth".to_owned(),
            });
        }
        resolved.push(ResolvedHeader {
            name: "authorization".to_owned(),
            value,
        });
    }
    Ok(resolved)
}

/// Why a header value or a credential could not be read. No message shows a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The file could not be read.
    #[error("could not read `{what}` from {}: check the path and that the Secret is mounted", path.display())]
    File {
        /// The setting, e.g. `auth.bearer`.
        what: String,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The variable is not set (or not Unicode).
    #[error("environment variable {var} for `{what}` is not set; set it or use {{file: PATH}}")]
    Env {
        /// The setting.
        what: String,
        /// The variable.
        var: String,
    },
    /// The file or variable is empty.
    #[error("`{what}` is empty ({from}); put the secret there")]
    Empty {
        /// The setting.
        what: String,
        /// Where it was read from.
        from: String,
    },
    /// The value holds characters an HTTP header cannot carry.
    #[error(
        "the value of `{what}` holds control characters or line breaks (not shown), which an HTTP header cannot carry"
    )]
    NotAHeaderValue {
        /// The setting.
        what: String,
    },
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn from_json<T: serde::de::DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_header_value_is_a_string_a_file_or_a_variable() {
        let headers: BTreeMap<String, HeaderValue> = from_json(
            r#"{"X-Team": "platform", "X-Version": 2, "X-Key": {"env": "HOOK_KEY"}, "X-File": {"file": "/run/k"}}"#,
        );
        assert_eq!(headers["X-Team"], HeaderValue::Value("platform".into()));
        assert_eq!(headers["X-Version"], HeaderValue::Value("2".into()));
        assert_eq!(
            headers["X-Key"],
            HeaderValue::Secret(Secret::Env("HOOK_KEY".into()))
        );
        assert_eq!(
            headers["X-File"],
            HeaderValue::Secret(Secret::File("/run/k".into()))
        );
        let error = serde_json::from_str::<HeaderValue>(r#"{"vault": "x"}"#).unwrap_err();
        assert!(
            error.to_string().contains("unknown field `vault`"),
            "{error}"
        );
        let error = serde_json::from_str::<Auth>(r#"{"bearer": "s3cret"}"#).unwrap_err();
        assert!(
            error.to_string().contains("{file: PATH} or {env: VAR}"),
            "{error}"
        );
        assert!(!error.to_string().contains("s3cret"), "{error}");
        let error = serde_json::from_str::<Auth>(r#""s3cret""#).unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[test]
    fn debug_never_shows_a_value() {
        let value = HeaderValue::Value("s3cret".into());
        assert!(!format!("{value:?}").contains("s3cret"));
        let header = ResolvedHeader {
            name: "authorization".into(),
            value: "Bearer s3cret".into(),
        };
        assert_eq!(format!("{header:?}"), "authorization: <redacted>");
    }

    #[test]
    fn bearer_and_basic_credentials_become_the_authorization_header() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "abc123\n").unwrap();
        let bearer = resolve(
            &BTreeMap::new(),
            Some(&Auth::Bearer(Secret::File(token.clone()))),
        )
        .unwrap();
        assert_eq!(bearer[0].name, "authorization");
        assert_eq!(bearer[0].value, "Bearer abc123");
        let basic = Auth::Basic {
            username: "ek".into(),
            password: Secret::File(token),
        };
        let basic = resolve(&BTreeMap::new(), Some(&basic)).unwrap();
        // printf 'ek:abc123' | base64
        assert_eq!(basic[0].value, "Basic ZWs6YWJjMTIz");
    }

    #[test]
    fn a_missing_or_empty_secret_names_the_setting_and_not_the_value() {
        let missing = resolve(
            &BTreeMap::new(),
            Some(&Auth::Bearer(Secret::Env(
                "EVENT_KEEPER_SURELY_UNSET_TOKEN".into(),
            ))),
        )
        .unwrap_err();
        let message = missing.to_string();
        assert!(
            message.contains("EVENT_KEEPER_SURELY_UNSET_TOKEN"),
            "{message}"
        );
        assert!(message.contains("auth.bearer"), "{message}");

        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let headers =
            BTreeMap::from([("X-Key".to_owned(), HeaderValue::Secret(Secret::File(empty)))]);
        let error = resolve(&headers, None).unwrap_err();
        assert!(
            error.to_string().contains("`headers.X-Key` is empty"),
            "{error}"
        );

        let bad = dir.path().join("bad");
        std::fs::write(&bad, "abc\ninjected: 1").unwrap();
        let headers =
            BTreeMap::from([("X-Key".to_owned(), HeaderValue::Secret(Secret::File(bad)))]);
        let error = resolve(&headers, None).unwrap_err();
        assert!(matches!(error, SecretError::NotAHeaderValue { .. }));
        assert!(!error.to_string().contains("injected"), "{error}");
    }

    #[test]
    fn invalid_names_and_usernames_are_refused_up_front() {
        assert!(Secret::Env("1BAD".into()).validate().is_err());
        assert!(Secret::Env("GOOD_1".into()).validate().is_ok());
        let auth = Auth::Basic {
            username: "a:b".into(),
            password: Secret::Env("P".into()),
        };
        assert!(auth.validate().unwrap_err().contains("':'"));
    }
}
