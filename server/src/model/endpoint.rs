//! Where a call goes and how it authenticates ([`Endpoint`], [`Auth`],
//! [`ApiKey`]), and how long and how often it may try ([`CallPolicy`]).

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};

use super::ModelError;
use crate::config::{Provider, Settings};

/// An API key. Held only in memory and in the auth header (marked sensitive);
/// `Debug` and `Display` print `[redacted]` so it cannot leak through logs or
/// error messages by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key, trimming the whitespace and newline that copy-paste and
    /// `echo` leave behind.
    pub fn new(key: impl Into<String>) -> Self {
        let key = key.into();
        Self(key.trim().to_owned())
    }

    /// The key itself, for building the auth header and for scrubbing server
    /// messages. Crate-private on purpose.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How requests authenticate, per provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <key>`: OpenAI, OpenRouter and most compatible servers.
    Bearer(ApiKey),
    /// `api-key: <key>`: Azure OpenAI.
    AzureApiKey(ApiKey),
    /// No auth header: local servers (Ollama, vLLM, LM Studio, llama.cpp).
    None,
}

impl Auth {
    /// The header to send, its value marked sensitive so HTTP-level debug
    /// output and HPACK never expose it.
    pub(crate) fn header(&self) -> Result<Option<(HeaderName, HeaderValue)>, ModelError> {
        let (name, raw) = match self {
            Self::Bearer(key) => (
                reqwest::header::AUTHORIZATION,
                format!("Bearer {}", key.expose()),
            ),
            Self::AzureApiKey(key) => (HeaderName::from_static("api-key"), key.expose().to_owned()),
            Self::None => return Ok(None),
        };
        let mut value = HeaderValue::from_str(&raw).map_err(|_| ModelError::InvalidEndpoint {
            message: "the API key contains characters that cannot be sent in an HTTP header"
                .to_owned(),
        })?;
        value.set_sensitive(true);
        Ok(Some((name, value)))
    }

    /// The key, if any, so server messages can be scrubbed of it.
    pub(crate) fn key(&self) -> Option<&ApiKey> {
        match self {
            Self::Bearer(key) | Self::AzureApiKey(key) => Some(key),
            Self::None => None,
        }
    }
}

/// A Responses API server: base URL plus authentication. `Debug` hides
/// credentials embedded in the URL (see [`redact_userinfo`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL such as `https://api.openai.com/v1`; `/responses` is appended.
    pub base_url: String,
    /// How to authenticate.
    pub auth: Auth,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("base_url", &redact_userinfo(&self.base_url))
            .field("auth", &self.auth)
            .finish()
    }
}

/// A URL as text with any `user:password@` replaced by `[redacted]@`, for
/// logs and messages. Gateways take basic-auth credentials in `baseUrl`
/// (`https://user:pw@gateway/v1`); they are as secret as the API key. Works
/// on text, so it also covers a `baseUrl` that does not parse.
pub(crate) fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}[redacted]{}", &url[..scheme_end], &rest[at..]),
        None => url.to_owned(),
    }
}

impl Endpoint {
    /// Builds the endpoint from settings and the key read from
    /// `settings.api_key_env`. Providers that need a key fail with
    /// [`ModelError::MissingApiKey`] naming the variable; `provider: none`
    /// ignores any key.
    pub fn from_settings(settings: &Settings, api_key: Option<ApiKey>) -> Result<Self, ModelError> {
        let api_key = api_key.filter(|k| !k.expose().is_empty());
        let missing = || ModelError::MissingApiKey {
            env_var: settings.api_key_env.clone(),
        };
        let auth = match settings.provider {
            Provider::Openai => Auth::Bearer(api_key.ok_or_else(missing)?),
            Provider::Azure => Auth::AzureApiKey(api_key.ok_or_else(missing)?),
            Provider::None => Auth::None,
        };
        let endpoint = Self {
            base_url: settings.base_url.clone(),
            auth,
        };
        endpoint.responses_url()?;
        endpoint.auth.header()?;
        Ok(endpoint)
    }

    /// `{base_url without trailing /}/responses`, validated.
    pub fn responses_url(&self) -> Result<reqwest::Url, ModelError> {
        let url = format!("{}/responses", self.base_url.trim_end_matches('/'));
        let shown = || redact_userinfo(&self.base_url);
        let parsed = reqwest::Url::parse(&url).map_err(|e| ModelError::InvalidEndpoint {
            message: format!("codex.baseUrl `{}` is not a valid URL ({e})", shown()),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ModelError::InvalidEndpoint {
                message: format!("codex.baseUrl `{}` must be http or https", shown()),
            });
        }
        Ok(parsed)
    }
}

/// Time and retry limits of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallPolicy {
    /// Total time for the call, retries and backoff included.
    pub request_timeout: Duration,
    /// Longest silence tolerated between two stream events.
    pub idle_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Longest single wait between attempts, server hints included.
    pub max_retry_delay: Duration,
    /// First backoff delay; doubles each retry (with jitter).
    pub initial_retry_delay: Duration,
}

impl CallPolicy {
    /// Default cap on one wait between attempts.
    pub const DEFAULT_MAX_RETRY_DELAY: Duration = Duration::from_secs(20);
    /// Default first backoff delay.
    pub const DEFAULT_INITIAL_RETRY_DELAY: Duration = Duration::from_millis(500);

    /// The policy configured by `requestTimeoutMs`, `streamIdleTimeoutMs` and `maxRetries`.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            request_timeout: settings.request_timeout(),
            idle_timeout: settings.stream_idle_timeout(),
            max_retries: settings.max_retries,
            max_retry_delay: Self::DEFAULT_MAX_RETRY_DELAY,
            initial_retry_delay: Self::DEFAULT_INITIAL_RETRY_DELAY,
        }
    }
}

impl Default for CallPolicy {
    fn default() -> Self {
        Self::from_settings(&Settings::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(provider: Provider, base_url: &str) -> Settings {
        Settings {
            provider,
            base_url: base_url.to_owned(),
            api_key_env: "CODEX_TEST_KEY".to_owned(),
            ..Settings::default()
        }
    }

    #[test]
    fn key_is_redacted_in_debug_and_display() {
        let key = ApiKey::new(" sk-secret-123\n");
        assert_eq!(key.expose(), "sk-secret-123");
        for shown in [
            format!("{key:?}"),
            format!("{key}"),
            format!("{:?}", Auth::Bearer(key.clone())),
            format!(
                "{:?}",
                Endpoint {
                    base_url: "https://x".into(),
                    auth: Auth::AzureApiKey(key.clone())
                }
            ),
        ] {
            assert!(!shown.contains("sk-secret"), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
        }
    }

    #[test]
    fn credentials_in_urls_are_redacted() {
        let cases = [
            (
                "https://u:pw@gw.example/v1",
                "https://[redacted]@gw.example/v1",
            ),
            ("http://u@h:8080", "http://[redacted]@h:8080"),
            ("https://a:b@c@d/v1?x=y@z", "https://[redacted]@d/v1?x=y@z"),
            ("https://api.openai.com/v1", "https://api.openai.com/v1"),
            ("https://h/v1?u=a@b", "https://h/v1?u=a@b"),
            ("not a url", "not a url"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_userinfo(url), want, "{url}");
        }
        let endpoint = Endpoint {
            base_url: "https://user:hunter2@gw/v1".into(),
            auth: Auth::None,
        };
        assert!(!format!("{endpoint:?}").contains("hunter2"));
    }

    #[test]
    fn providers_table() {
        let key = || Some(ApiKey::new("k1"));
        // (provider, key given, expected header name, expected header value, or missing-key error)
        type Expected = Result<Option<(&'static str, &'static str)>, ()>;
        let cases: Vec<(Provider, Option<ApiKey>, Expected)> = vec![
            (
                Provider::Openai,
                key(),
                Ok(Some(("authorization", "Bearer k1"))),
            ),
            (Provider::Azure, key(), Ok(Some(("api-key", "k1")))),
            (Provider::None, key(), Ok(None)),
            (Provider::None, None, Ok(None)),
            (Provider::Openai, None, Err(())),
            (Provider::Azure, Some(ApiKey::new("  ")), Err(())),
        ];
        for (provider, api_key, want) in cases {
            let got = Endpoint::from_settings(&settings(provider, "https://h/v1"), api_key);
            match want {
                Err(()) => assert_eq!(
                    got,
                    Err(ModelError::MissingApiKey {
                        env_var: "CODEX_TEST_KEY".into()
                    }),
                    "{provider:?}"
                ),
                Ok(header) => {
                    let endpoint = got.unwrap();
                    let h = endpoint.auth.header().unwrap();
                    let h = h.as_ref().map(|(n, v)| {
                        assert!(v.is_sensitive());
                        (n.as_str(), v.to_str().unwrap())
                    });
                    assert_eq!(h, header, "{provider:?}");
                }
            }
        }
    }

    #[test]
    fn url_joining() {
        let cases = [
            (
                "https://api.openai.com/v1",
                "https://api.openai.com/v1/responses",
            ),
            (
                "https://api.openai.com/v1/",
                "https://api.openai.com/v1/responses",
            ),
            (
                "https://res.openai.azure.com/openai/v1//",
                "https://res.openai.azure.com/openai/v1/responses",
            ),
            (
                "http://localhost:11434/v1",
                "http://localhost:11434/v1/responses",
            ),
            (
                "https://openrouter.ai/api/v1",
                "https://openrouter.ai/api/v1/responses",
            ),
        ];
        for (base, want) in cases {
            let endpoint = Endpoint {
                base_url: base.into(),
                auth: Auth::None,
            };
            assert_eq!(endpoint.responses_url().unwrap().as_str(), want);
        }
        let bad = Endpoint {
            base_url: "not a url".into(),
            auth: Auth::None,
        };
        assert!(matches!(
            bad.responses_url(),
            Err(ModelError::InvalidEndpoint { .. })
        ));
    }

    #[test]
    fn key_with_control_characters_is_rejected_without_echo() {
        let s = settings(Provider::Openai, "https://h/v1");
        let err = Endpoint::from_settings(&s, Some(ApiKey::new("sk-ab\u{7}cd"))).unwrap_err();
        assert!(matches!(err, ModelError::InvalidEndpoint { .. }));
        assert!(!err.user_message().contains("sk-ab"));
    }

    #[test]
    fn policy_from_settings() {
        let s = Settings {
            request_timeout_ms: 5_000,
            stream_idle_timeout_ms: 700,
            max_retries: 2,
            ..Settings::default()
        };
        let p = CallPolicy::from_settings(&s);
        assert_eq!(p.request_timeout, Duration::from_secs(5));
        assert_eq!(p.idle_timeout, Duration::from_millis(700));
        assert_eq!(p.max_retries, 2);
    }
}
