//! A short-lived cache of vendor answers with request coalescing: concurrent identical
//! queries share one vendor call, and answers are reused for `ttl`. Failures are not kept.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

struct Entry<V> {
    cell: OnceCell<(Instant, V)>,
}

/// What a lookup did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// This caller made the call.
    Called,
    /// Another caller's call, in flight or cached.
    Shared,
}

/// Where a cache reads the time: the monotonic clock, or a test's own that it moves on by hand.
type Now = Arc<dyn Fn() -> Instant + Send + Sync>;

/// A coalescing TTL cache keyed by `K`.
pub struct Cache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, Arc<Entry<V>>>>,
    now: Now,
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> Cache<K, V> {
    /// A cache keeping answers for `ttl` (zero: coalescing only).
    pub fn new(ttl: Duration) -> Self {
        Cache { ttl, entries: Mutex::new(HashMap::new()), now: Arc::new(Instant::now) }
    }

    /// The value for `key`: fresh from the cache, from a call in flight, or from `call`, which
    /// returns the value and whether it may be kept (failures are shared with the callers
    /// waiting for them but not kept).
    pub async fn get_or_call<F, Fut>(&self, key: K, call: F) -> (V, Source)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = (V, bool)>,
    {
        let entry = {
            let mut map = self.entries.lock().expect("the cache lock is never poisoned");
            let now = (self.now)();
            let stale = map.get(&key).is_some_and(|e| e.cell.get().is_some_and(|(at, _)| now.duration_since(*at) > self.ttl));
            if stale {
                map.remove(&key);
            }
            if map.len() > 10_000 {
                // Bound memory: drop everything finished and stale.
                let ttl = self.ttl;
                map.retain(|_, e| e.cell.get().is_none_or(|(at, _)| now.duration_since(*at) <= ttl));
            }
            map.entry(key.clone()).or_insert_with(|| Arc::new(Entry { cell: OnceCell::new() })).clone()
        };
        let mut called = false;
        let mut keep = true;
        let (_, value) = entry
            .cell
            .get_or_init(|| async {
                called = true;
                let (v, k) = call().await;
                keep = k;
                ((self.now)(), v)
            })
            .await;
        let value = value.clone();
        if called && !keep {
            let mut map = self.entries.lock().expect("the cache lock is never poisoned");
            if map.get(&key).is_some_and(|e| Arc::ptr_eq(e, &entry)) {
                map.remove(&key);
            }
        }
        (value, if called { Source::Called } else { Source::Shared })
    }

    /// Forgets every entry whose key matches `stale` (answers that a write has made wrong).
    /// A call in flight is forgotten too: its callers still get its answer, later ones ask anew.
    pub fn forget(&self, stale: impl Fn(&K) -> bool) {
        self.entries.lock().expect("the cache lock is never poisoned").retain(|k, _| !stale(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn identical_concurrent_queries_make_one_call() {
        let cache = Arc::new(Cache::<u32, u32>::new(Duration::from_secs(30)));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let (cache, calls) = (cache.clone(), calls.clone());
            set.spawn(async move {
                cache
                    .get_or_call(7, || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        (42, true)
                    })
                    .await
            });
        }
        let mut called = 0;
        while let Some(r) = set.join_next().await {
            let (v, source) = r.unwrap();
            assert_eq!(v, 42);
            called += usize::from(source == Source::Called);
        }
        assert_eq!((calls.load(Ordering::SeqCst), called), (1, 1));
        // Cached afterwards; another key calls again.
        assert_eq!(cache.get_or_call(7, || async { (0, true) }).await, (42, Source::Shared));
        assert_eq!(cache.get_or_call(8, || async { (1, true) }).await, (1, Source::Called));
    }

    #[tokio::test]
    async fn failures_are_not_kept_and_answers_expire() {
        // The cache's clock moves only when the test moves it, so "still fresh" holds however
        // slowly the test runs.
        let start = Instant::now();
        let elapsed = Arc::new(Mutex::new(Duration::ZERO));
        let clock = elapsed.clone();
        let ttl = Duration::from_secs(30);
        let cache = Cache::<u32, &str> { now: Arc::new(move || start + *clock.lock().unwrap()), ..Cache::new(ttl) };
        let advance = |by: Duration| *elapsed.lock().unwrap() += by;
        assert_eq!(cache.get_or_call(1, || async { ("failed", false) }).await.1, Source::Called);
        assert_eq!(cache.get_or_call(1, || async { ("ok", true) }).await, ("ok", Source::Called), "the failure was not kept");
        advance(ttl);
        assert_eq!(cache.get_or_call(1, || async { ("new", true) }).await, ("ok", Source::Shared), "fresh for the whole ttl");
        advance(Duration::from_millis(1));
        assert_eq!(cache.get_or_call(1, || async { ("new", true) }).await, ("new", Source::Called), "expired");
        assert_eq!(cache.get_or_call(1, || async { ("newer", true) }).await, ("new", Source::Shared), "kept afresh");
    }

    #[tokio::test]
    async fn forgotten_entries_are_asked_again() {
        let cache = Cache::<u32, &str>::new(Duration::from_secs(30));
        cache.get_or_call(1, || async { ("one", true) }).await;
        cache.get_or_call(2, || async { ("two", true) }).await;
        cache.forget(|k| *k == 1);
        assert_eq!(cache.get_or_call(1, || async { ("new", true) }).await, ("new", Source::Called), "forgotten");
        assert_eq!(cache.get_or_call(2, || async { ("new", true) }).await, ("two", Source::Shared), "kept");
    }
}
