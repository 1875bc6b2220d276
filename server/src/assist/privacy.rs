//! What never leaves the machine: files matching the `exclude` globs are
//! refused, and secrets (private-key blocks, API tokens, values assigned to
//! credential names, random-looking values of other `*_key` names) are
//! replaced by `[REDACTED:kind]` placeholders in everything sent. Replies
//! quoting placeholders are mapped back to the real text in
//! [`crate::assist::apply`].

use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use regex::{Captures, Regex};

use crate::assist::error::AssistError;

/// Every placeholder starts with this, so a reply that would write one back
/// into a file can be recognised and refused.
pub const REDACTION_PREFIX: &str = "[REDACTED:";

/// Matches one placeholder, capturing its kind.
pub(crate) fn placeholder_regex() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\[REDACTED:([A-Za-z0-9_-]+)\]").ok())
        .as_ref()
}

/// Compiled exclusion globs, matched gitignore-style on the workspace-relative
/// path and on the file name, ignoring case: `Prod.ENV` or `keys/Deploy.KEY`
/// hold the same secrets as their lower-case names, and on case-insensitive
/// file systems (macOS, Windows) they are the same file.
#[derive(Debug, Clone)]
pub struct Exclusions {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Exclusions {
    /// Compiles the patterns. A leading `/` anchors at the root (it is
    /// dropped, since paths are root-relative); a trailing `/` means "this
    /// directory and everything below"; `*` does not cross `/`.
    pub fn new(patterns: &[String]) -> Result<Self, AssistError> {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            let mut p = pattern.trim().trim_start_matches('/').to_owned();
            if p.ends_with('/') {
                p.push_str("**");
            }
            let glob = GlobBuilder::new(&p)
                .literal_separator(true)
                .case_insensitive(true)
                .build()
                .map_err(|e| AssistError::InvalidGlob {
                    pattern: pattern.clone(),
                    message: e.kind().to_string(),
                })?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|e| AssistError::InvalidGlob {
            pattern: patterns.join(", "),
            message: e.to_string(),
        })?;
        Ok(Self {
            patterns: patterns.to_vec(),
            set,
        })
    }

    /// Compiled exclusions for these patterns, cached so a request does not
    /// recompile the set (the last compiled set is kept).
    pub fn cached(patterns: &[String]) -> Result<Arc<Self>, AssistError> {
        static LAST: OnceLock<Mutex<Option<Arc<Exclusions>>>> = OnceLock::new();
        let cell = LAST.get_or_init(|| Mutex::new(None));
        if let Ok(guard) = cell.lock()
            && let Some(ex) = guard.as_ref().filter(|ex| ex.patterns == patterns)
        {
            return Ok(Arc::clone(ex));
        }
        let ex = Arc::new(Self::new(patterns)?);
        if let Ok(mut guard) = cell.lock() {
            *guard = Some(Arc::clone(&ex));
        }
        Ok(ex)
    }

    /// The first pattern excluding this workspace-relative path (`/`
    /// separators), matched on the whole path and on its file name.
    pub fn excluded(&self, rel_path: &str) -> Option<&str> {
        let rel = rel_path.trim_start_matches("./").trim_start_matches('/');
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let mut hits = self.set.matches(rel);
        if hits.is_empty() {
            hits = self.set.matches(name);
        }
        hits.first()
            .and_then(|&i| self.patterns.get(i))
            .map(String::as_str)
    }
}

struct Rules {
    pem: Regex,
    pem_tail: Regex,
    tokens: Vec<(&'static str, Regex)>,
    assignment: Regex,
}

fn rules() -> Option<&'static Rules> {
    static RULES: OnceLock<Option<Rules>> = OnceLock::new();
    RULES
        .get_or_init(|| {
            let tokens = [
                ("openai-key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
                ("aws-access-key-id", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"),
                ("github-token", r"\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{30,}\b"),
                ("github-token", r"\bgithub_pat_[A-Za-z0-9_]{22,}"),
                ("slack-token", r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),
            ];
            let mut compiled = Vec::new();
            for (kind, re) in tokens {
                compiled.push((kind, Regex::new(re).ok()?));
            }
            Some(Rules {
                pem: Regex::new(
                    r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----)[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\z)",
                )
                .ok()?,
                // A window that starts inside a key block: everything up to its END line.
                pem_tail: Regex::new(r"\A[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----)").ok()?,
                tokens: compiled,
                // NAME = value / NAME: value, with NAME ending in a secret-ish word.
                assignment: Regex::new(
                    r#"(?im)(?P<name>["']?[A-Za-z0-9_.\-]*(?:api[_\-]?key|secret[_\-]?key|access[_\-]?key|private[_\-]?key|_key|secret|_token|token|passwd|password|pwd)["']?)(?P<sep>[ \t]*(?::=|=|:)[ \t]*)(?:(?P<q>["'`])(?P<qval>[^"'`\r\n]{4,})["'`]|(?P<val>[A-Za-z0-9_\-+/=.~!@#$%^&*]{4,})(?:[ \t;,\r]|$))"#,
                )
                .ok()?,
            })
        })
        .as_ref()
}

/// Words before `key` that make a `…_key` name a credential (`API_KEY`,
/// `aws_secret_access_key`, `SIGNING_KEY`). Other `…_key` names
/// (`sort_key`, `cache_key`, `primary_key`, `partition_key`) are lookup or
/// ordering keys as often as not; their values are hidden only when they
/// look random ([`looks_random`]).
const CREDENTIAL_KEY_WORDS: &[&str] = &[
    "api",
    "secret",
    "access",
    "private",
    "signing",
    "sign",
    "encryption",
    "encrypt",
    "crypt",
    "master",
    "license",
    "licence",
    "client",
    "session",
    "app",
    "consumer",
    "hmac",
    "jwt",
    "ssh",
    "gpg",
    "pgp",
    "deploy",
    "webhook",
    "service",
    "account",
    "auth",
    "subscription",
    "storage",
    "bot",
    "admin",
    "aes",
    "rsa",
    "secure",
];

/// Whether an assigned name (as matched, quotes included) names a credential
/// for sure: it ends in `secret`, `token`, `password`, `passwd` or `pwd`, or
/// in `key` after one of [`CREDENTIAL_KEY_WORDS`].
fn credential_name(name: &str) -> bool {
    let n = name
        .trim_matches(|c| c == '"' || c == '\'')
        .to_ascii_lowercase()
        .replace('-', "_");
    if ["secret", "token", "password", "passwd", "pwd"]
        .iter()
        .any(|w| n.ends_with(w))
    {
        return true;
    }
    let Some(before) = n.strip_suffix("key") else {
        return false;
    };
    let before = before.trim_end_matches(['_', '.']);
    CREDENTIAL_KEY_WORDS.iter().any(|w| before.ends_with(w))
}

/// Whether a value looks like generated key material rather than a word or
/// a name: 16+ characters without spaces, digits or mixed case, and at least
/// 3 bits of entropy per character (hex and base64 keys have about 4 and
/// more; `users_by_created_at_descending` fails the first test).
fn looks_random(value: &str) -> bool {
    let v = value.trim();
    if v.chars().count() < 16 || v.chars().any(char::is_whitespace) {
        return false;
    }
    let digit = v.chars().any(|c| c.is_ascii_digit());
    let mixed_case =
        v.chars().any(|c| c.is_ascii_lowercase()) && v.chars().any(|c| c.is_ascii_uppercase());
    if !digit && !mixed_case {
        return false;
    }
    let mut counts = std::collections::HashMap::new();
    for c in v.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let len = v.chars().count() as f64;
    let entropy: f64 = counts
        .values()
        .map(|&n| {
            let p = n as f64 / len;
            -p * p.log2()
        })
        .sum();
    entropy >= 3.0
}

/// Whether an unquoted assigned value looks like a secret rather than code
/// (`KEY = other_name` is code; `KEY=abc123` is a secret).
fn looks_secret(value: &str) -> bool {
    let identifier_like = value
        .chars()
        .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '.');
    !identifier_like && !matches!(value, "null" | "None" | "true" | "false")
}

/// Replaces secrets with `[REDACTED:kind]` placeholders. Returns the input
/// unchanged (borrowed) when there is nothing to hide.
pub fn redact(text: &str) -> Cow<'_, str> {
    let Some(rules) = rules() else {
        return Cow::Borrowed(text);
    };
    let mut out = Cow::Borrowed(text);
    if out.contains("PRIVATE KEY") {
        let replaced = rules.pem.replace_all(&out, |c: &Captures<'_>| {
            let end = c.get(3).map_or("", |m| m.as_str());
            format!("{}\n{REDACTION_PREFIX}private-key]\n{end}", &c[1])
        });
        if let Cow::Owned(s) = replaced {
            out = Cow::Owned(s);
        }
        // An END line without its BEGIN (the text starts inside a key).
        let first_end = out.find("-----END ");
        let first_begin = out.find("-----BEGIN ");
        if let Some(e) = first_end
            && first_begin.is_none_or(|b| b > e)
            && out[e..].starts_with("-----END")
        {
            let replaced = rules.pem_tail.replace(&out, |c: &Captures<'_>| {
                format!("{REDACTION_PREFIX}private-key]\n{}", &c[1])
            });
            if let Cow::Owned(s) = replaced {
                out = Cow::Owned(s);
            }
        }
    }
    for (kind, re) in &rules.tokens {
        let replaced = re.replace_all(&out, format!("{REDACTION_PREFIX}{kind}]").as_str());
        if let Cow::Owned(s) = replaced {
            out = Cow::Owned(s);
        }
    }
    let replaced = rules.assignment.replace_all(&out, |c: &Captures<'_>| {
        let whole = &c[0];
        if whole.contains(REDACTION_PREFIX) {
            return whole.to_owned();
        }
        let head = format!("{}{}", &c["name"], &c["sep"]);
        let credential = credential_name(&c["name"]);
        if let (Some(q), Some(v)) = (c.name("q"), c.name("qval")) {
            if v.as_str().trim().is_empty() || !(credential || looks_random(v.as_str())) {
                return whole.to_owned();
            }
            let q = q.as_str();
            return format!("{head}{q}{REDACTION_PREFIX}secret]{q}");
        }
        match c.name("val") {
            Some(v) if looks_secret(v.as_str()) && (credential || looks_random(v.as_str())) => {
                let tail = &whole[v.end() - c.get(0).map_or(0, |m| m.start())..];
                format!("{head}{REDACTION_PREFIX}secret]{tail}")
            }
            _ => whole.to_owned(),
        }
    });
    if let Cow::Owned(s) = replaced {
        out = Cow::Owned(s);
    }
    out
}

/// Whether text looks binary (contains NUL bytes).
pub fn looks_binary(text: &str) -> bool {
    text.as_bytes().contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_exclusions_match_paths_and_names() {
        let ex =
            Exclusions::new(&crate::config::default_excludes()).unwrap_or_else(|e| panic!("{e}"));
        for (path, pattern) in [
            (".env", Some(".env")),
            ("config/.env.local", Some(".env.*")),
            ("deploy/prod.env", Some("*.env")),
            ("certs/server.pem", Some("*.pem")),
            (".git/config", Some("**/.git/**")),
            ("home/.ssh/id_rsa", Some("**/.ssh/**")),
            ("keys/id_ed25519.pub", Some("id_ed25519*")),
            ("src/main.rs", None),
            ("src/environment.rs", None),
        ] {
            assert_eq!(ex.excluded(path), pattern, "{path}");
        }
    }

    #[test]
    fn exclusions_ignore_case() {
        // Case-insensitive file systems (macOS, Windows) and habit give the
        // same secrets upper-case names; the defaults must still catch them.
        let ex =
            Exclusions::new(&crate::config::default_excludes()).unwrap_or_else(|e| panic!("{e}"));
        for (path, pattern) in [
            ("Prod.ENV", "*.env"),
            ("certs/SERVER.PEM", "*.pem"),
            ("keys/Deploy.KEY", "*.key"),
            ("ID_RSA", "id_rsa*"),
            ("config/Credentials.json", "credentials.json"),
            ("home/.SSH/config", "**/.ssh/**"),
        ] {
            assert_eq!(ex.excluded(path), Some(pattern), "{path}");
        }
        assert_eq!(ex.excluded("src/Environment.rs"), None);
    }

    #[test]
    fn key_names_that_are_not_credentials_keep_their_values() {
        // `key` alone means a lookup or ordering key as often as a credential:
        // such values are hidden only when they look like one.
        for code in [
            "SORT_KEY = \"created_at_desc\"",
            "sort_key = 'name'",
            "cache_key = \"user:{id}:profile\"",
            "primary_key = \"id\"",
            "partition_key: 'tenant_id'",
            "foreign_key=user_id_v2",
            "\"sortKey\": \"updatedAt\"",
            "key = \"Enter\"",
            "KEY = \"users_by_created_at_descending\"",
        ] {
            assert_eq!(redact(code), code, "{code}");
        }
        for (secret, value) in [
            (
                "cache_key = \"9f86d081884c7d659a2feaa0c55ad015\"",
                "9f86d081",
            ),
            ("MY_KEY = \"q8Zr2LmX9vTb4NcW7pKd\"", "q8Zr2LmX"),
            ("SIGNING_KEY = \"abc12345\"", "abc12345"),
            ("api_key = \"abcd-efgh\"", "abcd-efgh"),
            ("private_key: 'k1-secret'", "k1-secret"),
            ("encryption_key=hunter22", "hunter22"),
        ] {
            let out = redact(secret);
            assert!(!out.contains(value), "{secret} -> {out}");
            assert!(out.contains(REDACTION_PREFIX), "{secret} -> {out}");
        }
    }

    #[test]
    fn anchored_and_directory_patterns() {
        let ex = Exclusions::new(&["/secrets/".to_owned(), "build/*.rs".to_owned()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ex.excluded("secrets/a/b.txt"), Some("/secrets/"));
        assert_eq!(ex.excluded("build/x.rs"), Some("build/*.rs"));
        assert_eq!(ex.excluded("build/deep/x.rs"), None);
        assert!(Exclusions::new(&["[z-a".to_owned()]).is_err());
    }
}
