//! Token counting with the real o200k tokenizer, shared and memoised.
//!
//! The tokenizer is built once per process (about 100–250 ms). Counting costs
//! about 1 µs per token, so counts are memoised per line in a bounded map:
//! asking again about the same file (another action, a retry) is nearly free.
//! A text's count is the sum of its lines' counts. Splitting at line breaks
//! can only change how the break and the next line's indentation are cut, so
//! the sum stays within about one token per line of the exact count (above it
//! in every case we measured); the prompt builder keeps a safety margin too.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, OnceLock};

use tiktoken_rs::CoreBPE;

use crate::assist::error::AssistError;

/// Entries kept in the memo before it is cleared.
const MEMO_LIMIT: usize = 1 << 20;
/// Lines longer than this are counted without memoising.
const MEMO_MAX_LINE: usize = 4096;

fn bpe() -> Result<&'static CoreBPE, AssistError> {
    static BPE: OnceLock<Result<CoreBPE, String>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| AssistError::Tokenizer(e.clone()))
}

/// Loads the tokenizer now, so the first request does not pay for it.
pub fn warm_up() -> Result<(), AssistError> {
    bpe().map(|_| ())
}

fn memo() -> &'static Mutex<HashMap<u64, u32>> {
    static MEMO: OnceLock<Mutex<HashMap<u64, u32>>> = OnceLock::new();
    MEMO.get_or_init(|| Mutex::new(HashMap::new()))
}

fn key(line: &str) -> u64 {
    // Fixed keys: stable within the process, which is all a memo needs.
    let mut h =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .build_hasher();
    h.write(line.as_bytes());
    h.write_usize(line.len());
    h.finish()
}

/// Forgets every memoised count, so benchmarks can measure a cold start.
pub fn clear_memo() {
    if let Ok(mut m) = memo().lock() {
        m.clear();
    }
}

/// o200k tokens of one line (or any short text), memoised.
pub fn count_line(line: &str) -> Result<usize, AssistError> {
    if line.is_empty() {
        return Ok(0);
    }
    if line.len() > MEMO_MAX_LINE {
        return Ok(bpe()?.encode_ordinary(line).len());
    }
    let k = key(line);
    if let Some(&n) = memo().lock().ok().as_ref().and_then(|m| m.get(&k)) {
        return Ok(n as usize);
    }
    let n = bpe()?.encode_ordinary(line).len();
    if let Ok(mut m) = memo().lock() {
        if m.len() >= MEMO_LIMIT {
            m.clear();
        }
        m.insert(k, u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(n)
}

/// o200k tokens of a text, as the sum over its lines (see the module docs).
pub fn count_tokens(text: &str) -> Result<usize, AssistError> {
    text.split_inclusive('\n')
        .try_fold(0, |acc, line| Ok(acc + count_line(line)?))
}

/// Exact o200k count of a text in one pass (no memo), for reports and tests.
pub fn count_exact(text: &str) -> Result<usize, AssistError> {
    Ok(bpe()?.encode_ordinary(text).len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_real_and_never_undercount() -> Result<(), AssistError> {
        let text = "fn main() {\n    println!(\"héllo 😀\");\n}\n\n\n    let x = 1;\r\n";
        let exact = count_exact(text)?;
        let summed = count_tokens(text)?;
        assert!(exact > 5);
        assert!(summed >= exact, "{summed} < {exact}");
        assert!(summed <= exact + 6, "{summed} vs {exact}");
        assert_eq!(count_tokens("")?, 0);
        assert_eq!(count_line("hello")?, 1);
        Ok(())
    }
}
