//! The explanation cache behind the explain hover.
//!
//! Hovers are frequent and cheap for the editor, but model calls are slow and
//! cost money, so explanations are cached and shared:
//!
//! * entries are keyed by a hash of what the answer was made from (the
//!   explain handler hashes the rendered prompt: file path, region, the
//!   context around it, and the request settings), so an edit inside the
//!   region or the context it was sent with gives a new key (a miss) while
//!   an edit outside them leaves the key, and the entry, intact; identical
//!   code in another file or class has another key. Nothing needs explicit
//!   invalidation;
//! * the cache is bounded by bytes, least recently used first out;
//! * concurrent requests for the same key share one computation, and when the
//!   last waiter goes away (the hover was cancelled) the computation is
//!   aborted, which drops the model stream and closes its connection.
//!
//! The mutex is never held across an await.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use lru::LruCache;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::task::AbortHandle;

/// Identifies one explanation: a SHA-256 over its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExplainKey([u8; 32]);

impl Hash for ExplainKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Already uniformly distributed: the first 8 bytes suffice.
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(prefix));
    }
}

impl ExplainKey {
    /// Hashes the parts (length-prefixed, so part boundaries matter).
    pub(crate) fn new(parts: &[&str]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        Self(hasher.finalize().into())
    }
}

/// A shared computation ended without a result because its task went away
/// (aborted, or it panicked). Callers turn it into their own error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Abandoned;

/// The result every waiter of one computation gets. Failures are shared
/// (`Arc`), so the error type need not be `Clone`; they are never cached.
type Outcome<E> = Option<Result<Arc<str>, Arc<E>>>;

struct InFlight<E> {
    id: u64,
    waiters: usize,
    result: watch::Receiver<Outcome<E>>,
    abort: AbortHandle,
}

struct Inner<E> {
    lru: LruCache<ExplainKey, Arc<str>>,
    bytes: usize,
    capacity_bytes: usize,
    inflight: HashMap<ExplainKey, InFlight<E>>,
    next_id: u64,
}

/// Bounded, shared explanation cache with in-flight de-duplication;
/// computations fail with `E`.
pub(crate) struct ExplainCache<E> {
    inner: Mutex<Inner<E>>,
}

impl<E> std::fmt::Debug for ExplainCache<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExplainCache").finish_non_exhaustive()
    }
}

impl<E> ExplainCache<E> {
    /// A cache holding at most `capacity_bytes` of explanation text.
    pub(crate) fn new(capacity_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                lru: LruCache::unbounded(),
                bytes: 0,
                capacity_bytes,
                inflight: HashMap::new(),
                next_id: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<E>> {
        // A poisoned lock only means a panic elsewhere; the data is still a
        // consistent cache (every mutation completes before unlocking).
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes the byte bound, evicting as needed.
    pub(crate) fn set_capacity(&self, capacity_bytes: usize) {
        let mut inner = self.lock();
        inner.capacity_bytes = capacity_bytes;
        inner.evict();
    }

    /// A cached explanation, marking it recently used.
    pub(crate) fn get(&self, key: &ExplainKey) -> Option<Arc<str>> {
        self.lock().lru.get(key).cloned()
    }

    /// Stores an explanation.
    #[cfg(test)]
    pub(crate) fn insert(&self, key: ExplainKey, text: Arc<str>) {
        self.lock().insert(key, text);
    }

    /// Bytes of explanation text held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Whether nothing is cached.
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().lru.is_empty()
    }

    /// Number of computations running.
    #[cfg(test)]
    pub(crate) fn inflight(&self) -> usize {
        self.lock().inflight.len()
    }

    /// Returns the cached explanation, or joins the running computation for
    /// this key, or starts `compute` on a task. Dropping the returned future
    /// leaves the computation running only while someone else waits for it.
    pub(crate) async fn get_or_compute<F, Fut>(
        self: &Arc<Self>,
        key: ExplainKey,
        compute: F,
    ) -> Result<Arc<str>, Arc<E>>
    where
        E: From<Abandoned> + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, E>> + Send + 'static,
    {
        let (id, mut receiver) = {
            let mut inner = self.lock();
            if let Some(hit) = inner.lru.get(&key) {
                return Ok(Arc::clone(hit));
            }
            if let Some(flight) = inner.inflight.get_mut(&key) {
                flight.waiters += 1;
                (flight.id, flight.result.clone())
            } else {
                inner.next_id += 1;
                let id = inner.next_id;
                let (sender, receiver) = watch::channel::<Outcome<E>>(None);
                let cache = Arc::clone(self);
                let work = compute();
                let task = tokio::spawn(async move {
                    let outcome = work.await.map(Arc::<str>::from).map_err(Arc::new);
                    {
                        let mut inner = cache.lock();
                        if inner.inflight.get(&key).is_some_and(|f| f.id == id) {
                            inner.inflight.remove(&key);
                        }
                        if let Ok(text) = &outcome {
                            inner.insert(key, Arc::clone(text));
                        }
                    }
                    let _ = sender.send(Some(outcome));
                });
                inner.inflight.insert(
                    key,
                    InFlight {
                        id,
                        waiters: 1,
                        result: receiver.clone(),
                        abort: task.abort_handle(),
                    },
                );
                (id, receiver)
            }
        };
        let _guard = WaiterGuard {
            cache: Arc::clone(self),
            key,
            id,
        };
        loop {
            if let Some(outcome) = receiver.borrow_and_update().clone() {
                return outcome;
            }
            if receiver.changed().await.is_err() {
                return Err(Arc::new(E::from(Abandoned)));
            }
        }
    }
}

impl<E> Inner<E> {
    fn insert(&mut self, key: ExplainKey, text: Arc<str>) {
        if let Some(old) = self.lru.put(key, Arc::clone(&text)) {
            self.bytes -= old.len();
        }
        self.bytes += text.len();
        self.evict();
    }

    fn evict(&mut self) {
        while self.bytes > self.capacity_bytes {
            match self.lru.pop_lru() {
                Some((_, old)) => self.bytes -= old.len(),
                None => break,
            }
        }
    }
}

/// Decrements the waiter count of a computation when a waiter goes away;
/// the last one out aborts it.
struct WaiterGuard<E> {
    cache: Arc<ExplainCache<E>>,
    key: ExplainKey,
    id: u64,
}

impl<E> Drop for WaiterGuard<E> {
    fn drop(&mut self) {
        let mut inner = self.cache.lock();
        let last = match inner.inflight.get_mut(&self.key) {
            Some(flight) if flight.id == self.id => {
                flight.waiters -= 1;
                flight.waiters == 0
            }
            _ => false,
        };
        if let Some(flight) = last.then(|| inner.inflight.remove(&self.key)).flatten() {
            flight.abort.abort();
        }
    }
}

#[cfg(test)]
fn key_for(parts: &[&str]) -> ExplainKey {
    ExplainKey::new(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[derive(Debug, PartialEq, Eq)]
    enum Failure {
        RateLimited,
        Abandoned,
    }

    impl From<Abandoned> for Failure {
        fn from(_: Abandoned) -> Self {
            Failure::Abandoned
        }
    }

    type ExplainCache = super::ExplainCache<Failure>;

    fn text(n: usize) -> Arc<str> {
        Arc::from("x".repeat(n))
    }

    #[test]
    fn byte_bound_evicts_least_recently_used() {
        let cache = ExplainCache::new(25);
        let (a, b, c) = (key_for(&["a"]), key_for(&["b"]), key_for(&["c"]));
        cache.insert(a, text(10));
        cache.insert(b, text(10));
        assert!(cache.get(&a).is_some()); // a is now more recent than b
        cache.insert(c, text(10)); // 30 bytes > 25: b goes
        assert!(cache.get(&b).is_none());
        assert!(cache.get(&a).is_some() && cache.get(&c).is_some());
        assert_eq!(cache.bytes(), 20);
        cache.set_capacity(5);
        assert!(cache.is_empty());
        assert_eq!(cache.bytes(), 0);
    }

    #[test]
    fn keys_depend_on_every_part_and_its_boundaries() {
        assert_eq!(key_for(&["ab", "c"]), key_for(&["ab", "c"]));
        assert_ne!(key_for(&["ab", "c"]), key_for(&["a", "bc"]));
        assert_ne!(key_for(&["ab", "c"]), key_for(&["ab", "d"]));
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_computation_and_fill_the_cache() {
        let cache = Arc::new(ExplainCache::new(1 << 20));
        let calls = Arc::new(AtomicUsize::new(0));
        let key = key_for(&["fn f() {}"]);
        let make = || {
            let calls = Arc::clone(&calls);
            move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, Failure>("explained".to_owned())
            }
        };
        let (r1, r2) = tokio::join!(
            cache.get_or_compute(key, make()),
            cache.get_or_compute(key, make())
        );
        assert_eq!(&*r1.unwrap(), "explained");
        assert_eq!(&*r2.unwrap(), "explained");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(cache.inflight(), 0);
        let r3 = cache.get_or_compute(key, make()).await.unwrap();
        assert_eq!(&*r3, "explained");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a hit computes nothing");
    }

    #[tokio::test]
    async fn last_waiter_leaving_aborts_the_computation() {
        struct DropFlag(Arc<AtomicUsize>);
        impl Drop for DropFlag {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let cache = Arc::new(ExplainCache::new(1 << 20));
        let dropped = Arc::new(AtomicUsize::new(0));
        let key = key_for(&["slow"]);
        let flag = Arc::clone(&dropped);
        let waiter = cache.get_or_compute(key, move || async move {
            let _flag = DropFlag(flag);
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, Failure>("never".to_owned())
        });
        // Give up after a moment, as a cancelled hover does.
        assert!(
            tokio::time::timeout(Duration::from_millis(50), waiter)
                .await
                .is_err()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "the computation was dropped"
        );
        assert_eq!(cache.inflight(), 0);
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let cache = Arc::new(ExplainCache::new(1 << 20));
        let key = key_for(&["x"]);
        let err = cache
            .get_or_compute(key, || async { Err::<String, _>(Failure::RateLimited) })
            .await
            .unwrap_err();
        assert_eq!(*err, Failure::RateLimited);
        assert!(cache.get(&key).is_none());
    }

    fn explode() -> Result<String, Failure> {
        panic!("the computation panicked")
    }

    #[tokio::test]
    async fn a_computation_that_dies_leaves_its_waiters_abandoned() {
        let cache = Arc::new(ExplainCache::new(1 << 20));
        let key = key_for(&["boom"]);
        let err = cache
            .get_or_compute(key, || async { explode() })
            .await
            .unwrap_err();
        assert_eq!(*err, Failure::Abandoned);
        assert_eq!(cache.inflight(), 0);
    }
}
