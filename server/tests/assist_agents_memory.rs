//! A huge AGENTS.md costs no more memory than the 32 KiB that are sent. In a
//! binary of its own because it measures the process's peak resident set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Peak resident set size of this process in KiB (`VmHWM`), after trying to
/// reset it (`/proc/self/clear_refs`, Linux 4.0+) so only what follows counts.
#[cfg(target_os = "linux")]
fn peak_rss_kib(reset: bool) -> u64 {
    if reset {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn a_huge_agents_md_is_not_read_whole() {
    use std::io::Write;
    const SIZE: u64 = 128 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let root = &dir.path().canonicalize().unwrap();
    let mut file = std::fs::File::create(root.join("AGENTS.md")).unwrap();
    file.write_all(&b"- Keep functions short.\n".repeat(2_000))
        .unwrap();
    // Sparse: no disk is used for the rest, but a whole read would fill it.
    file.set_len(SIZE).unwrap();
    drop(file);
    let before = peak_rss_kib(true);
    let exclusions = std::sync::Arc::new(codex_lsp::assist::Exclusions::new(&[]).unwrap());
    let policy = codex_lsp::workspace::WorkspacePolicy::new([root.to_path_buf()], exclusions);
    let found = policy.agents_md(&root.join("main.rs"));
    let grown = peak_rss_kib(false).saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "reading AGENTS.md raised the peak RSS by {grown} KiB (the file is {} KiB)",
        SIZE / 1024
    );
    assert!(found.iter().map(|f| f.text.len()).sum::<usize>() <= 32 * 1024);
}
