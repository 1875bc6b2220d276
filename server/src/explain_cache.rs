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
use std::num::NonZeroUsize;
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

/// How many input keys ([`ExplainCache::alias`]) are remembered.
const ALIASES: NonZeroUsize = match NonZeroUsize::new(4096) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

/// Failures of background computations that finished while nobody waited,
/// kept for the next lookup of their key (at most this many, newest kept).
const UNSEEN_FAILURES: NonZeroUsize = match NonZeroUsize::new(32) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

struct InFlight<E> {
    id: u64,
    waiters: usize,
    /// Runs to its end whoever waits (a hover started or joined it): the
    /// last waiter leaving does not abort it.
    detached: bool,
    /// The open document (its generation) a background computation is
    /// for: closing or reopening that document drops it.
    owner: Option<u64>,
    result: watch::Receiver<Outcome<E>>,
    abort: AbortHandle,
}

struct Inner<E> {
    lru: LruCache<ExplainKey, Arc<str>>,
    bytes: usize,
    capacity_bytes: usize,
    inflight: HashMap<ExplainKey, InFlight<E>>,
    /// Failures nobody has seen yet (see [`UNSEEN_FAILURES`]); taken by the
    /// next lookup, so the next hover says why instead of silently asking
    /// again.
    unseen_failures: LruCache<ExplainKey, Arc<E>>,
    /// Keys of what a prompt is rendered from → the key of that prompt,
    /// so a hover on unchanged input finds its explanation without
    /// rendering the prompt again.
    aliases: LruCache<ExplainKey, ExplainKey>,
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

/// What a lookup in the background ([`ExplainCache::lookup_or_start`])
/// found.
pub(crate) enum Lookup<E> {
    /// The cached explanation.
    Hit(Arc<str>),
    /// A background computation for this key failed while nobody waited;
    /// said once, the next lookup computes again.
    Failed(Arc<E>),
    /// Being computed; it runs to its end whether or not this is awaited.
    Pending(Pending<E>),
    /// Nothing cached, nothing running, and the start was declined.
    NotStarted,
}

/// A running computation to wait for; dropping it leaves the computation
/// running (it is detached).
pub(crate) struct Pending<E> {
    receiver: watch::Receiver<Outcome<E>>,
    _guard: WaiterGuard<E>,
}

impl<E: From<Abandoned>> Pending<E> {
    /// The computation's result.
    pub(crate) async fn wait(self) -> Result<Arc<str>, Arc<E>> {
        let mut receiver = self.receiver;
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

impl<E> ExplainCache<E> {
    /// A cache holding at most `capacity_bytes` of explanation text.
    pub(crate) fn new(capacity_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                lru: LruCache::unbounded(),
                bytes: 0,
                capacity_bytes,
                inflight: HashMap::new(),
                unseen_failures: LruCache::new(UNSEEN_FAILURES),
                aliases: LruCache::new(ALIASES),
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

    /// The key of the prompt last rendered from the inputs `inputs` (see
    /// [`ExplainCache::set_alias`]).
    pub(crate) fn alias(&self, inputs: &ExplainKey) -> Option<ExplainKey> {
        self.lock().aliases.get(inputs).copied()
    }

    /// Remembers that the inputs `inputs` render the prompt `key`. The
    /// caller vouches that `inputs` covers everything the prompt is made
    /// from; the bound is by count (two keys per entry).
    pub(crate) fn set_alias(&self, inputs: ExplainKey, key: ExplainKey) {
        self.lock().aliases.put(inputs, key);
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
    /// leaves the computation running only while someone else waits for it
    /// (or a background lookup detached it).
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
        let pending = {
            let mut inner = self.lock();
            if let Some(hit) = inner.lru.get(&key) {
                return Ok(Arc::clone(hit));
            }
            // Whoever asks now sees the answer; an old failure is moot.
            inner.unseen_failures.pop(&key);
            match self.join(&mut inner, key) {
                Some(pending) => pending,
                None => self.spawn(&mut inner, key, None, compute()),
            }
        };
        pending.wait().await
    }

    /// For a hover: the cached explanation, or a failure nobody saw yet,
    /// or the running computation for this key (detached from now on, and
    /// dropped with the document `owner`), or a new one from `start` on a
    /// task that runs to its end whether anyone waits or not. `start`
    /// declines with `None` (no hover slot free): then nothing runs.
    ///
    /// This is what keeps a hover bounded: the caller waits on
    /// [`Lookup::Pending`] only as long as it likes, and the model's answer
    /// still lands in the cache for the next hover.
    pub(crate) fn lookup_or_start<F, Fut>(
        self: &Arc<Self>,
        key: ExplainKey,
        owner: u64,
        start: F,
    ) -> Lookup<E>
    where
        E: From<Abandoned> + Send + Sync + 'static,
        F: FnOnce() -> Option<Fut>,
        Fut: Future<Output = Result<String, E>> + Send + 'static,
    {
        let mut inner = self.lock();
        if let Some(hit) = inner.lru.get(&key) {
            return Lookup::Hit(Arc::clone(hit));
        }
        if let Some(failure) = inner.unseen_failures.pop(&key) {
            return Lookup::Failed(failure);
        }
        if let Some(flight) = inner.inflight.get_mut(&key) {
            flight.detached = true;
            flight.owner = Some(owner);
        }
        if let Some(pending) = self.join(&mut inner, key) {
            return Lookup::Pending(pending);
        }
        match start() {
            Some(work) => Lookup::Pending(self.spawn(&mut inner, key, Some(owner), work)),
            None => Lookup::NotStarted,
        }
    }

    /// Drops the background computations kept for the document `owner`
    /// (closed, or reopened as another generation): their answer would
    /// explain text the editor no longer shows. Their waiters, if any, get
    /// [`Abandoned`].
    pub(crate) fn drop_owner(&self, owner: u64) {
        let dropped: Vec<InFlight<E>> = {
            let mut inner = self.lock();
            let keys: Vec<ExplainKey> = inner
                .inflight
                .iter()
                .filter(|(_, f)| f.owner == Some(owner))
                .map(|(k, _)| *k)
                .collect();
            keys.iter()
                .filter_map(|k| inner.inflight.remove(k))
                .collect()
        };
        // Aborted outside the lock: the task's own guard takes it.
        for flight in dropped {
            flight.abort.abort();
        }
    }

    /// Joins the computation running for `key`, if any.
    fn join(self: &Arc<Self>, inner: &mut Inner<E>, key: ExplainKey) -> Option<Pending<E>> {
        let flight = inner.inflight.get_mut(&key)?;
        flight.waiters += 1;
        Some(Pending {
            receiver: flight.result.clone(),
            _guard: WaiterGuard {
                cache: Arc::clone(self),
                key,
                id: flight.id,
            },
        })
    }

    /// Starts `work` on a task as the computation for `key`, with one
    /// waiter (the returned [`Pending`]).
    fn spawn<Fut>(
        self: &Arc<Self>,
        inner: &mut Inner<E>,
        key: ExplainKey,
        owner: Option<u64>,
        work: Fut,
    ) -> Pending<E>
    where
        E: Send + Sync + 'static,
        Fut: Future<Output = Result<String, E>> + Send + 'static,
    {
        inner.next_id += 1;
        let id = inner.next_id;
        let (sender, receiver) = watch::channel::<Outcome<E>>(None);
        let cache = Arc::clone(self);
        let task = tokio::spawn(async move {
            // Removes the entry however the task ends (done, aborted,
            // panicked), so a dead computation never blocks its key.
            let finished = FlightGuard {
                cache: Arc::clone(&cache),
                key,
                id,
            };
            let outcome = work.await.map(Arc::<str>::from).map_err(Arc::new);
            {
                let mut inner = cache.lock();
                let flight = match inner.inflight.get(&key) {
                    Some(f) if f.id == id => inner.inflight.remove(&key),
                    _ => None,
                };
                match &outcome {
                    Ok(text) => inner.insert(key, Arc::clone(text)),
                    Err(failure) => {
                        if flight.is_some_and(|f| f.detached && f.waiters == 0) {
                            inner.unseen_failures.put(key, Arc::clone(failure));
                        }
                    }
                }
            }
            drop(finished);
            let _ = sender.send(Some(outcome));
        });
        inner.inflight.insert(
            key,
            InFlight {
                id,
                waiters: 1,
                detached: owner.is_some(),
                owner,
                result: receiver.clone(),
                abort: task.abort_handle(),
            },
        );
        Pending {
            receiver,
            _guard: WaiterGuard {
                cache: Arc::clone(self),
                key,
                id,
            },
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
/// the last one out aborts it unless it is detached.
struct WaiterGuard<E> {
    cache: Arc<ExplainCache<E>>,
    key: ExplainKey,
    id: u64,
}

impl<E> Drop for WaiterGuard<E> {
    fn drop(&mut self) {
        let abandoned = {
            let mut inner = self.cache.lock();
            let last = match inner.inflight.get_mut(&self.key) {
                Some(flight) if flight.id == self.id => {
                    flight.waiters -= 1;
                    flight.waiters == 0 && !flight.detached
                }
                _ => false,
            };
            last.then(|| inner.inflight.remove(&self.key)).flatten()
        };
        // Aborted outside the lock: the task's own guard takes it.
        if let Some(flight) = abandoned {
            flight.abort.abort();
        }
    }
}

/// Lives in a computation's task: removes the task's in-flight entry when
/// the task ends in any way, the entry still being its own.
struct FlightGuard<E> {
    cache: Arc<ExplainCache<E>>,
    key: ExplainKey,
    id: u64,
}

impl<E> Drop for FlightGuard<E> {
    fn drop(&mut self) {
        let mut inner = self.cache.lock();
        if inner
            .inflight
            .get(&self.key)
            .is_some_and(|f| f.id == self.id)
        {
            inner.inflight.remove(&self.key);
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

    fn slow(flag: Arc<AtomicUsize>) -> impl Future<Output = Result<String, Failure>> {
        struct DropFlag(Arc<AtomicUsize>);
        impl Drop for DropFlag {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        // Made before the first poll: dropped with the future, polled or not.
        let flag = DropFlag(flag);
        async move {
            let _flag = flag;
            std::future::pending::<()>().await;
            Ok("never".to_owned())
        }
    }

    #[tokio::test]
    async fn a_background_computation_outlives_its_waiters_and_fills_the_cache() {
        let cache = Arc::new(ExplainCache::new(1 << 20));
        let key = key_for(&["bg"]);
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let lookup = cache.lookup_or_start(key, 7, || {
            Some(async move {
                let _ = released.await;
                Ok::<_, Failure>("explained".to_owned())
            })
        });
        let Lookup::Pending(pending) = lookup else {
            panic!("nothing started")
        };
        drop(pending); // the hover answered without it
        assert_eq!(
            cache.inflight(),
            1,
            "the computation was dropped with its waiter"
        );
        // A second lookup joins it; it starts nothing new.
        let joined = cache.lookup_or_start(key, 7, || -> Option<std::future::Ready<_>> {
            panic!("a second computation for one key")
        });
        assert!(matches!(joined, Lookup::Pending(_)));
        drop(joined);
        let _ = release.send(());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while cache.get(&key).is_none() {
            assert!(tokio::time::Instant::now() < deadline, "never cached");
            tokio::task::yield_now().await;
        }
        assert_eq!(cache.inflight(), 0);
        assert!(matches!(
            cache.lookup_or_start(key, 7, || -> Option<std::future::Ready<_>> { None }),
            Lookup::Hit(_)
        ));
    }

    #[tokio::test]
    async fn a_declined_start_runs_nothing() {
        let cache = Arc::new(ExplainCache::new(1 << 20));
        let key = key_for(&["busy"]);
        let lookup = cache.lookup_or_start(key, 1, || -> Option<std::future::Ready<_>> { None });
        assert!(matches!(lookup, Lookup::NotStarted));
        assert_eq!(cache.inflight(), 0);
    }

    #[tokio::test]
    async fn dropping_the_owner_aborts_its_background_computations() {
        let cache = Arc::new(ExplainCache::new(1 << 20));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (mine, other) = (key_for(&["mine"]), key_for(&["other"]));
        let flag = Arc::clone(&dropped);
        let waiter = cache.lookup_or_start(mine, 1, move || Some(slow(flag)));
        let keep = Arc::new(AtomicUsize::new(0));
        let flag = Arc::clone(&keep);
        let _other = cache.lookup_or_start(other, 2, move || Some(slow(flag)));
        cache.drop_owner(1);
        let Lookup::Pending(waiter) = waiter else {
            panic!("nothing started")
        };
        assert_eq!(*waiter.wait().await.unwrap_err(), Failure::Abandoned);
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        assert_eq!(
            keep.load(Ordering::SeqCst),
            0,
            "another document's call stopped"
        );
        assert_eq!(cache.inflight(), 1);
    }

    #[tokio::test]
    async fn a_background_failure_nobody_saw_is_reported_once() {
        let cache = Arc::new(ExplainCache::new(1 << 20));
        let key = key_for(&["fails"]);
        let lookup = cache.lookup_or_start(key, 1, || {
            Some(async { Err::<String, _>(Failure::RateLimited) })
        });
        drop(lookup);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while cache.inflight() > 0 {
            assert!(tokio::time::Instant::now() < deadline, "never finished");
            tokio::task::yield_now().await;
        }
        let seen = cache.lookup_or_start(key, 1, || -> Option<std::future::Ready<_>> { None });
        assert!(matches!(seen, Lookup::Failed(f) if *f == Failure::RateLimited));
        let again = cache.lookup_or_start(key, 1, || -> Option<std::future::Ready<_>> { None });
        assert!(matches!(again, Lookup::NotStarted), "reported twice");
    }
}
