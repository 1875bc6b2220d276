//! Retry timing: exponential backoff with jitter and the server's own hints
//! (`retry-after-ms`, `Retry-After`, "try again in 1.5s", `x-should-retry`).

use std::time::Duration;

use reqwest::header::HeaderMap;

/// Exponential backoff for retry number `attempt` (1-based): `base · 2^(attempt−1)`,
/// capped at `cap`, then scaled by a random factor in `(0.75, 1]` so clients
/// that failed together do not retry together.
pub(crate) fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exp = attempt.saturating_sub(1).min(20);
    let raw = base.saturating_mul(1u32 << exp).min(cap);
    raw.mul_f64(1.0 - 0.25 * fastrand::f64())
}

/// The delay a response asks for: `retry-after-ms` first, then `Retry-After`
/// in (possibly fractional) seconds. HTTP-date values are not understood and
/// fall back to backoff.
pub(crate) fn retry_after_from_headers(headers: &HeaderMap) -> Option<Duration> {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = value("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    value("retry-after")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// `x-should-retry: true|false`, the server's explicit verdict.
pub(crate) fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry")?.to_str().ok()?.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The hint in rate-limit messages such as "Please try again in 11.054s",
/// "try again in 28ms", "Try again in 35 seconds" or "try again in 1m30s".
pub(crate) fn retry_after_from_message(message: &str) -> Option<Duration> {
    const NEEDLE: &str = "try again in";
    let lower = message.to_ascii_lowercase();
    let start = lower.find(NEEDLE)? + NEEDLE.len();
    let mut rest = lower[start..].trim_start();
    let mut total = 0.0_f64;
    let mut parsed_any = false;
    loop {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            break;
        }
        let Ok(number) = rest[..num_len].parse::<f64>() else {
            break;
        };
        rest = rest[num_len..].trim_start();
        let (unit_secs, unit_len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if rest.starts_with("seconds") {
            (1.0, 7)
        } else if rest.starts_with("second") {
            (1.0, 6)
        } else if rest.starts_with("sec") {
            (1.0, 3)
        } else if rest.starts_with("minutes") {
            (60.0, 7)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else {
            break;
        };
        total += number * unit_secs;
        parsed_any = true;
        rest = &rest[unit_len..];
    }
    (parsed_any && total.is_finite()).then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn message_hints() {
        let cases: &[(&str, Option<f64>)] = &[
            (
                "Rate limit reached. Please try again in 11.054s. Visit ...",
                Some(11.054),
            ),
            ("Please try again in 28ms.", Some(0.028)),
            ("Try again in 35 seconds.", Some(35.0)),
            ("try again in 1 second", Some(1.0)),
            ("Please try again in 1m30s.", Some(90.0)),
            ("Please try again in 6m0s", Some(360.0)),
            ("Please try again later.", None),
            ("no hint here", None),
            ("try again in", None),
        ];
        for (message, want) in cases {
            let got = retry_after_from_message(message).map(|d| d.as_secs_f64());
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-6, "{message}: {g} vs {w}"),
                (g, w) => assert_eq!(g, *w, "{message}"),
            }
        }
    }

    #[test]
    fn header_hints() {
        type Headers = &'static [(&'static str, &'static str)];
        let cases: &[(Headers, Option<Duration>)] = &[
            (&[("retry-after", "2")], Some(Duration::from_secs(2))),
            (&[("retry-after", "0.5")], Some(Duration::from_millis(500))),
            (
                &[("retry-after-ms", "250")],
                Some(Duration::from_millis(250)),
            ),
            (
                &[("retry-after-ms", "250"), ("retry-after", "9")],
                Some(Duration::from_millis(250)),
            ),
            (&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")], None),
            (&[("retry-after", "-3")], None),
            (&[], None),
        ];
        for (pairs, want) in cases {
            let mut headers = HeaderMap::new();
            for (k, v) in *pairs {
                headers.insert(*k, HeaderValue::from_static(v));
            }
            assert_eq!(retry_after_from_headers(&headers), *want, "{pairs:?}");
        }
    }

    #[test]
    fn should_retry_values() {
        for (value, want) in [
            ("true", Some(true)),
            ("false", Some(false)),
            ("maybe", None),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert("x-should-retry", HeaderValue::from_static(value));
            assert_eq!(should_retry_header(&headers), want);
        }
        assert_eq!(should_retry_header(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_millis(700);
        for (attempt, nominal_ms) in [(1u32, 100u64), (2, 200), (3, 400), (4, 700), (30, 700)] {
            for _ in 0..50 {
                let d = backoff(attempt, base, cap);
                let nominal = Duration::from_millis(nominal_ms);
                assert!(d <= nominal, "attempt {attempt}: {d:?}");
                assert!(d >= nominal.mul_f64(0.75), "attempt {attempt}: {d:?}");
            }
        }
    }
}
