//! Giving freed memory back to the operating system.
//!
//! glibc's allocator keeps freed memory for reuse: after a large document
//! closes, its rope chunks (many small allocations spread over the
//! allocator's per-thread arenas) stay counted in the process's RSS, and the
//! editor's user sees a language server that never shrinks. `malloc_trim`
//! hands the free pages of every arena back. It walks the whole heap, so it
//! runs only once enough has been freed since the last time, off the async
//! threads. Elsewhere (musl, macOS, Windows) this is a no-op.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes freed before a trim is worth its cost.
pub(crate) const TRIM_AFTER_BYTES: usize = 8 * 1024 * 1024;

/// Counts bytes freed by closed documents and trims the heap once they add
/// up to [`TRIM_AFTER_BYTES`].
#[derive(Debug, Default)]
pub(crate) struct HeapTrimmer {
    freed_since_trim: AtomicUsize,
}

impl HeapTrimmer {
    /// Records `bytes` as freed; returns whether this call started a trim.
    pub(crate) fn freed(&self, bytes: usize) -> bool {
        let total = self.freed_since_trim.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if total < TRIM_AFTER_BYTES {
            return false;
        }
        // Whoever resets the counter runs the trim; a concurrent caller
        // that also crossed the threshold finds it reset and does nothing.
        if self
            .freed_since_trim
            .compare_exchange(total, 0, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(release_free_heap)),
            Err(_) => release_free_heap(),
        }
        true
    }
}

/// Returns the allocator's free pages to the operating system.
pub(crate) fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `malloc_trim` takes no pointers and only touches the
        // allocator's own free lists, under the allocator's locks; glibc
        // documents it as thread-safe (MT-Safe).
        #[allow(unsafe_code)]
        let released = unsafe { libc::malloc_trim(0) };
        tracing::debug!(released = released != 0, "malloc_trim");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_enough_was_freed() {
        let trimmer = HeapTrimmer::default();
        let step = TRIM_AFTER_BYTES / 4;
        let trims: Vec<bool> = (0..9).map(|_| trimmer.freed(step)).collect();
        assert_eq!(
            trims,
            [false, false, false, true, false, false, false, true, false]
        );
        assert!(trimmer.freed(TRIM_AFTER_BYTES * 10), "one huge document");
        assert!(!trimmer.freed(1));
    }
}
