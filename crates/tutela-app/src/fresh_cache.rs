//! A short-lived read cache for the few facts every request reads and that
//! change rarely: a machine client's token record and a controller's
//! current agreement. A dialer asks thousands of call decisions a second
//! with the same token for the same controller; reading both from the store
//! each time was two of the decision's statements.
//!
//! Written by hand because what it needs is small and specific: entries live
//! at most `ttl`, every change made through this process empties the cache
//! at once, and a read that raced a change is never cached (the generation
//! check below). A change made by another process (a second node, the CLI
//! on the same database) is seen within `ttl`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tutela_domain::{Agreement, ControllerId, SecretDigest};
use tutela_storage::TokenRecord;

/// How long a cached fact is trusted without reading it again. Freshness of
/// a cache is measured on the monotonic clock, not the application clock:
/// it bounds staleness in real time, and tests that stop the application
/// clock must not freeze the cache.
pub(crate) const FRESH_FOR: Duration = Duration::from_secs(1);

/// At most this many entries; a full cache is emptied rather than managed,
/// since the working set (tokens and controllers in use) is far smaller.
const CAPACITY: usize = 4096;

/// Values read from the store, kept for a short time.
pub(crate) struct FreshCache<K, V> {
    inner: Mutex<Inner<K, V>>,
    ttl: Duration,
}

struct Inner<K, V> {
    generation: u64,
    entries: HashMap<K, (Instant, V)>,
}

/// The cache's generation when a read began; a value read after an
/// invalidation started is only cached under the generation it saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Generation(u64);

impl<K: Hash + Eq, V: Clone> FreshCache<K, V> {
    /// An empty cache trusting entries for `ttl`.
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            inner: Mutex::new(Inner {
                generation: 0,
                entries: HashMap::new(),
            }),
            ttl,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock cannot leave an entry half written
        // (inserts and clears are single calls), so a poisoned lock is safe.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached value of `key` if it is still fresh at `now`; otherwise
    /// the generation to hand to [`Self::insert`] after reading the store.
    pub(crate) fn get(&self, key: &K, now: Instant) -> Result<V, Generation> {
        let inner = self.lock();
        match inner.entries.get(key) {
            Some((at, value)) if now.saturating_duration_since(*at) < self.ttl => Ok(value.clone()),
            _ => Err(Generation(inner.generation)),
        }
    }

    /// Caches `value` read at `now`, unless something was invalidated since
    /// `generation` was taken: that read may predate the change.
    pub(crate) fn insert(&self, generation: Generation, key: K, value: V, now: Instant) {
        let mut inner = self.lock();
        if inner.generation != generation.0 {
            return;
        }
        if inner.entries.len() >= CAPACITY {
            inner.entries.clear();
        }
        inner.entries.insert(key, (now, value));
    }

    /// Forgets everything: called on every change to what is cached.
    pub(crate) fn invalidate(&self) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        inner.entries.clear();
    }

    /// The fresh cached value of `key`, or the value `read` gives, cached
    /// when `keep` says so and nothing was invalidated meanwhile.
    pub(crate) async fn get_or_read<E>(
        &self,
        key: K,
        read: impl Future<Output = Result<V, E>>,
        keep: impl FnOnce(&V) -> bool,
    ) -> Result<V, E> {
        let now = Instant::now();
        let generation = match self.get(&key, now) {
            Ok(value) => return Ok(value),
            Err(generation) => generation,
        };
        let value = read.await?;
        if keep(&value) {
            self.insert(generation, key, value.clone(), now);
        }
        Ok(value)
    }
}

/// The facts the application caches: machine clients' token records by
/// digest, controllers' current agreements.
pub(crate) struct FreshFacts {
    pub(crate) tokens: FreshCache<SecretDigest, Option<TokenRecord>>,
    pub(crate) agreements: FreshCache<ControllerId, Option<Agreement>>,
}

impl Default for FreshFacts {
    fn default() -> Self {
        Self {
            tokens: FreshCache::new(FRESH_FOR),
            agreements: FreshCache::new(FRESH_FOR),
        }
    }
}

impl std::fmt::Debug for FreshFacts {
    // Token digests are not printed, even though they are not secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FreshFacts")
    }
}

impl crate::App {
    /// Forgets every cached token record and agreement: called after each
    /// change to clients, tokens, users or agreements made here.
    pub(crate) fn access_changed(&self) {
        self.fresh.tokens.invalidate();
        self.fresh.agreements.invalidate();
    }

    /// A machine client's token record by digest, from the cache when fresh.
    /// Unknown tokens are not cached: they are answered from the store.
    pub(crate) async fn client_token(
        &self,
        digest: SecretDigest,
    ) -> Result<Option<TokenRecord>, crate::AppError> {
        let read = async { Ok(self.store.api_token(digest).await?) };
        self.fresh
            .tokens
            .get_or_read(digest, read, Option::is_some)
            .await
    }

    /// The controller's current agreement, from the cache when fresh.
    pub(crate) async fn current_agreement(
        &self,
        controller: ControllerId,
    ) -> Result<Option<Agreement>, crate::AppError> {
        let read = async { Ok(self.store.current_agreement(controller).await?) };
        self.fresh
            .agreements
            .get_or_read(controller, read, |_| true)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> FreshCache<u32, &'static str> {
        FreshCache::new(Duration::from_millis(500))
    }

    #[test]
    fn a_value_is_served_until_it_is_ttl_old() {
        let cache = cache();
        let t0 = Instant::now();
        let Err(generation) = cache.get(&1, t0) else {
            panic!("empty cache answered");
        };
        cache.insert(generation, 1, "one", t0);
        assert_eq!(cache.get(&1, t0 + Duration::from_millis(499)), Ok("one"));
        assert!(cache.get(&1, t0 + Duration::from_millis(500)).is_err());
        assert!(cache.get(&2, t0).is_err());
    }

    #[test]
    fn invalidation_forgets_and_refuses_reads_that_began_before_it() {
        let cache = cache();
        let t0 = Instant::now();
        let Err(before) = cache.get(&1, t0) else {
            panic!("empty cache answered");
        };
        cache.insert(before, 1, "old", t0);
        cache.invalidate();
        assert!(cache.get(&1, t0).is_err(), "invalidation kept an entry");
        // A read that started before the change finishes after it.
        cache.insert(before, 1, "stale", t0);
        assert!(cache.get(&1, t0).is_err(), "a racing read was cached");
        let Err(after) = cache.get(&1, t0) else {
            panic!("empty cache answered");
        };
        cache.insert(after, 1, "new", t0);
        assert_eq!(cache.get(&1, t0), Ok("new"));
    }

    #[tokio::test]
    async fn get_or_read_reads_once_while_fresh_and_never_keeps_what_it_is_told_not_to() {
        let cache: FreshCache<u32, Option<&str>> = FreshCache::new(Duration::from_secs(60));
        let reads = std::sync::atomic::AtomicU32::new(0);
        let reads = &reads;
        // Counted when awaited: a value served from the cache is never read.
        let read = |value: Option<&'static str>| async move {
            reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, ()>(value)
        };
        for _ in 0..3 {
            let got = cache
                .get_or_read(1, read(Some("one")), Option::is_some)
                .await;
            assert_eq!(got, Ok(Some("one")));
        }
        for _ in 0..3 {
            let got = cache.get_or_read(2, read(None), Option::is_some).await;
            assert_eq!(got, Ok(None));
        }
        // One read for the kept value, three for the one never kept.
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 4);
    }

    #[test]
    fn a_full_cache_starts_over_instead_of_growing() {
        let cache: FreshCache<usize, usize> = FreshCache::new(Duration::from_secs(60));
        let t0 = Instant::now();
        for key in 0..=CAPACITY {
            let generation = cache.get(&key, t0).err().unwrap_or(Generation(0));
            cache.insert(generation, key, key, t0);
        }
        assert_eq!(cache.lock().entries.len(), 1);
        assert_eq!(cache.get(&CAPACITY, t0), Ok(CAPACITY));
    }
}
