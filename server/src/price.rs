//! What a model call costs in money: the price table per model id (built-in
//! defaults for the Codex models, overridden or extended by the `prices`
//! setting), the cost arithmetic and how amounts and token counts are
//! written for people.
//!
//! Prices are US dollars per million tokens. A model without a known price
//! has no cost: callers show tokens only, never a guess.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The price of one model, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Price {
    /// Uncached input.
    pub input: f64,
    /// Input served from the prompt cache; one tenth of `input` when not
    /// given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
    /// Input written to the prompt cache, where a provider bills it
    /// (OpenAI does not); billed as uncached input when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
    /// Output, reasoning included.
    pub output: f64,
}

/// The highest price per million tokens a setting may give.
pub const MAX_PRICE: f64 = 100_000.0;

impl Price {
    const fn new(input: f64, cached_input: f64, output: f64) -> Self {
        Self {
            input,
            cached_input: Some(cached_input),
            cache_write: None,
            output,
        }
    }

    /// The price of cached input.
    pub fn cached(&self) -> f64 {
        self.cached_input.unwrap_or(self.input / 10.0)
    }

    /// The price of input written to the cache.
    pub fn write(&self) -> f64 {
        self.cache_write.unwrap_or(self.input)
    }

    /// Checks a price from settings: finite, not negative, at most
    /// [`MAX_PRICE`], and cached input no dearer than input. `Err` says
    /// what is wrong.
    pub fn check(&self) -> Result<(), String> {
        let fields = [
            ("input", Some(self.input)),
            ("cachedInput", self.cached_input),
            ("cacheWrite", self.cache_write),
            ("output", Some(self.output)),
        ];
        for (name, value) in fields {
            if let Some(v) = value
                && !(v.is_finite() && (0.0..=MAX_PRICE).contains(&v))
            {
                return Err(format!(
                    "`{name}` must be a price per million tokens between 0 and {MAX_PRICE}"
                ));
            }
        }
        if self.cached() > self.input {
            return Err("`cachedInput` must not cost more than `input`".to_owned());
        }
        Ok(())
    }

    /// What `tokens` cost at this price, in US dollars. Cached and
    /// cache-write counts are clamped to the input they are part of.
    pub fn cost(&self, tokens: &Tokens) -> f64 {
        let cached = tokens.cached.min(tokens.input);
        let written = tokens.cache_write.min(tokens.input - cached);
        let uncached = tokens.input - cached - written;
        (uncached as f64 * self.input
            + cached as f64 * self.cached()
            + written as f64 * self.write()
            + tokens.output as f64 * self.output)
            / 1_000_000.0
    }
}

/// The token counts a cost is computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Input tokens, cached and cache-write ones included.
    pub input: u64,
    /// Of the input, tokens served from the prompt cache.
    pub cached: u64,
    /// Of the input, tokens written to the prompt cache.
    pub cache_write: u64,
    /// Output tokens, reasoning included.
    pub output: u64,
}

/// The built-in prices (OpenAI list prices, standard tier), by model id.
pub const DEFAULT_PRICES: &[(&str, Price)] = &[
    ("gpt-5-codex", Price::new(1.25, 0.125, 10.00)),
    ("gpt-5.1-codex", Price::new(1.50, 0.15, 12.00)),
    ("gpt-5.2-codex", Price::new(1.75, 0.175, 14.00)),
    ("gpt-5.3-codex", Price::new(2.00, 0.20, 15.00)),
];

/// The price of `model`: from `overrides` (the `prices` setting) or the
/// built-in table, whichever knows the id best. An exact id (case
/// insensitive, an OpenRouter-style `vendor/` prefix ignored) wins;
/// otherwise the longest known id that `model` is a dated snapshot of
/// (`gpt-5.3-codex-2026-02-24`). A sibling model is not a snapshot:
/// `gpt-5-codex-mini` is not priced as `gpt-5-codex`. `None` when unknown.
pub fn price_of(overrides: &BTreeMap<String, Price>, model: &str) -> Option<Price> {
    let mut table: BTreeMap<String, Price> = DEFAULT_PRICES
        .iter()
        .map(|(id, price)| (id.to_string(), *price))
        .collect();
    for (id, price) in overrides {
        table.insert(normalise(id), *price);
    }
    let id = normalise(model);
    if let Some(price) = table.get(&id) {
        return Some(*price);
    }
    table
        .iter()
        .filter(|(known, _)| is_snapshot_of(&id, known))
        .max_by_key(|(known, _)| known.len())
        .map(|(_, price)| *price)
}

/// The id without surrounding space and a `vendor/` prefix, lower case.
fn normalise(model: &str) -> String {
    let id = model.trim();
    id.rsplit('/').next().unwrap_or(id).to_ascii_lowercase()
}

/// Whether `id` is `known` followed by a dated snapshot suffix (`-` and a
/// digit: `-2026-02-24`, `-0824`).
fn is_snapshot_of(id: &str, known: &str) -> bool {
    id.len() > known.len()
        && id.starts_with(known)
        && id[known.len()..]
            .strip_prefix('-')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// An amount in US dollars for people: two decimals from a dollar up, two
/// significant digits below (`$0.0042`), so a small cost never reads
/// `$0.0000`; below a millionth of a dollar, `<$0.000001`.
pub fn format_usd(amount: f64) -> String {
    if !amount.is_finite() || amount <= 0.0 {
        return "$0.00".to_owned();
    }
    if amount < 0.000_001 {
        return "<$0.000001".to_owned();
    }
    let magnitude = amount.log10().floor() as i32; // -6 ..
    let decimals = (1 - magnitude).clamp(2, 7) as usize;
    format!("${amount:.decimals$}")
}

/// A count with thousands separators: `1,024`.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A price for people: `$2.00 / $15.00 per 1M input / output tokens (cached
/// input $0.20)`.
pub fn format_price(price: &Price) -> String {
    format!(
        "${:.2} / ${:.2} per 1M input / output tokens (cached input ${})",
        price.input,
        price.output,
        trim_price(price.cached())
    )
}

fn trim_price(p: f64) -> String {
    let s = format!("{p:.4}");
    let s = s.trim_end_matches('0');
    let s = s.strip_suffix('.').unwrap_or(s);
    // At least two decimals: `$0.20`, `$0.175`.
    match s.split_once('.') {
        Some((_, frac)) if frac.len() >= 2 => s.to_owned(),
        Some((int, frac)) => format!("{int}.{frac:0<2}"),
        None => format!("{s}.00"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tokens(input: u64, cached: u64, output: u64) -> Tokens {
        Tokens {
            input,
            cached,
            cache_write: 0,
            output,
        }
    }

    #[test]
    fn known_models_and_their_snapshots_are_priced_siblings_are_not() {
        let none = BTreeMap::new();
        let table = [
            ("gpt-5.3-codex", Some(2.00)),
            ("GPT-5.3-Codex", Some(2.00)),
            ("openai/gpt-5.2-codex", Some(1.75)),
            ("gpt-5.3-codex-2026-02-24", Some(2.00)),
            ("gpt-5-codex", Some(1.25)),
            ("gpt-5.1-codex", Some(1.50)),
            // Siblings with other prices, and ids we know nothing of.
            ("gpt-5-codex-mini", None),
            ("gpt-5.1-codex-max", None),
            ("gpt-5.3-codexx", None),
            ("my-azure-deployment", None),
            ("", None),
        ];
        for (model, input) in table {
            assert_eq!(price_of(&none, model).map(|p| p.input), input, "{model}");
        }
    }

    #[test]
    fn settings_override_and_add_models() {
        let mut prices = BTreeMap::new();
        prices.insert("gpt-5.3-codex".to_owned(), Price::new(1.0, 0.5, 2.0));
        prices.insert(
            "My-Deployment".to_owned(),
            Price {
                input: 3.0,
                cached_input: None,
                cache_write: Some(3.75),
                output: 9.0,
            },
        );
        prices.insert(
            "gpt-5.3-codex-2026-02-24".to_owned(),
            Price::new(7.0, 0.7, 8.0),
        );
        assert_eq!(
            price_of(&prices, "gpt-5.3-codex").map(|p| p.input),
            Some(1.0)
        );
        assert_eq!(
            price_of(&prices, "my-deployment").map(|p| p.cached()),
            Some(0.3)
        );
        // The exact id beats the prefix; the longest prefix wins.
        assert_eq!(
            price_of(&prices, "gpt-5.3-codex-2026-02-24").map(|p| p.input),
            Some(7.0)
        );
        assert_eq!(
            price_of(&prices, "gpt-5.3-codex-2026-03-01").map(|p| p.input),
            Some(1.0)
        );
        assert_eq!(
            price_of(&prices, "gpt-5.2-codex").map(|p| p.input),
            Some(1.75)
        );
    }

    #[test]
    fn the_cost_of_a_call() {
        let price = price_of(&BTreeMap::new(), "gpt-5.2-codex").unwrap();
        // 176 uncached at $1.75, 1024 cached at $0.175, 80 out at $14 per 1M.
        let cost = price.cost(&tokens(1200, 1024, 80));
        let want = (176.0 * 1.75 + 1024.0 * 0.175 + 80.0 * 14.0) / 1e6;
        assert!((cost - want).abs() < 1e-12, "{cost} vs {want}");
        assert_eq!(format_usd(cost), "$0.0016");
        // Cache writes at their own price where one is billed.
        let billed = Price {
            input: 3.0,
            cached_input: Some(0.3),
            cache_write: Some(3.75),
            output: 15.0,
        };
        let t = Tokens {
            input: 1000,
            cached: 200,
            cache_write: 500,
            output: 0,
        };
        let want = (300.0 * 3.0 + 200.0 * 0.3 + 500.0 * 3.75) / 1e6;
        assert!((billed.cost(&t) - want).abs() < 1e-12);
    }

    #[test]
    fn amounts_read_well_and_never_as_zero() {
        let table = [
            (0.0, "$0.00"),
            (0.0042, "$0.0042"),
            (0.00421, "$0.0042"),
            (0.042, "$0.042"),
            (0.42, "$0.42"),
            (4.2, "$4.20"),
            (1234.5, "$1234.50"),
            (0.000_012, "$0.000012"),
            (0.000_000_4, "<$0.000001"),
        ];
        for (amount, want) in table {
            assert_eq!(format_usd(amount), want, "{amount}");
        }
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(1024), "1,024");
        assert_eq!(format_count(1_200_000), "1,200,000");
        assert_eq!(
            format_price(&DEFAULT_PRICES[2].1),
            "$1.75 / $14.00 per 1M input / output tokens (cached input $0.175)"
        );
    }

    #[test]
    fn bad_prices_are_refused() {
        let ok = Price::new(1.0, 0.1, 2.0);
        assert!(ok.check().is_ok());
        for bad in [
            Price { input: -1.0, ..ok },
            Price {
                output: f64::NAN,
                ..ok
            },
            Price { input: 1e9, ..ok },
            Price {
                cached_input: Some(2.0),
                ..ok
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }

    fn price() -> impl Strategy<Value = Price> {
        (0.0..100.0f64, 0.0..1.0f64, 0.0..200.0f64, 0.0..150.0f64).prop_map(
            |(input, cached_share, write, output)| Price {
                input,
                cached_input: Some(input * cached_share),
                cache_write: Some(write),
                output,
            },
        )
    }

    proptest! {
        #[test]
        fn cost_is_monotone_in_every_count(
            p in price(),
            input in 0u64..10_000_000,
            cached in 0u64..10_000_000,
            output in 0u64..10_000_000,
            more in 1u64..1_000_000,
        ) {
            let t = tokens(input, cached.min(input), output);
            let base = p.cost(&t);
            prop_assert!(base >= 0.0);
            let more_output = p.cost(&Tokens { output: output + more, ..t });
            let more_input = p.cost(&Tokens { input: input + more, ..t });
            let more_cached = p.cost(&Tokens { input: input + more, cached: t.cached + more, ..t });
            prop_assert!(more_output >= base);
            prop_assert!(more_input >= base);
            prop_assert!(more_cached >= base);
        }

        #[test]
        fn cached_tokens_never_cost_more_than_uncached(
            p in price(),
            input in 0u64..10_000_000,
            cached in 0u64..10_000_000,
            output in 0u64..1_000_000,
        ) {
            let cached = cached.min(input);
            let with_cache = p.cost(&tokens(input, cached, output));
            let without = p.cost(&tokens(input, 0, output));
            prop_assert!(with_cache <= without + 1e-12, "{} > {}", with_cache, without);
        }

        #[test]
        fn small_amounts_never_read_as_zero(amount in 0.000_001f64..10_000.0) {
            let text = format_usd(amount);
            prop_assert!(text.chars().any(|c| ('1'..='9').contains(&c)), "{} -> {}", amount, text);
        }
    }
}
