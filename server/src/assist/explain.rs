//! Cleaning an explain reply for display in a hover or a message: Markdown,
//! trimmed, without a wrapping code fence or a stray patch block.

/// Cleans a Markdown explanation: normalises line endings, unwraps a reply
/// that is entirely one ```markdown fence, drops a leading "Explanation:"
/// label, collapses runs of blank lines and trims.
pub fn clean_explanation(reply: &str) -> String {
    let text = reply.replace("\r\n", "\n").replace('\r', "\n");
    let mut body = text.trim();
    // A reply wrapped whole in one fence (```markdown … ```).
    if let Some(rest) = body.strip_prefix("```")
        && let Some(nl) = rest.find('\n')
    {
        let lang = rest[..nl].trim();
        let inner = &rest[nl + 1..];
        if matches!(lang, "" | "markdown" | "md")
            && let Some(inner) = inner.trim_end().strip_suffix("```")
            && !inner.contains("\n```")
        {
            body = inner.trim();
        }
    }
    for label in [
        "Explanation:",
        "**Explanation:**",
        "## Explanation",
        "# Explanation",
    ] {
        if let Some(rest) = body.strip_prefix(label) {
            body = rest.trim_start();
            break;
        }
    }
    let mut out = String::with_capacity(body.len());
    let mut blank_run = 0;
    let mut in_fence = false;
    for line in body.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if line.trim().is_empty() && !in_fence {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
            out.push('\n');
            continue;
        }
        blank_run = 0;
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_fences_labels_and_blank_runs() {
        let reply = "\r\n```markdown\r\nExplanation: Adds two numbers.\r\n\r\n\r\n\r\n- **Inputs:** `a`, `b`  \r\n```\r\n";
        assert_eq!(
            clean_explanation(reply),
            "Adds two numbers.\n\n- **Inputs:** `a`, `b`"
        );
        let with_code = "Sums.\n\n```rust\nlet x = 1;\n\n\nlet y = 2;\n```";
        assert_eq!(clean_explanation(with_code), with_code);
        assert_eq!(clean_explanation("   "), "");
    }
}
