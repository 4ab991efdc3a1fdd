//! The HTTP side of the protocol clients: one reqwest client (rustls) per service with a
//! governor rate limit, bounded concurrency, timeouts and retries with jittered backoff that
//! honour `Retry-After`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use tokio::sync::Semaphore;

use crate::config::ClientConfig;

/// Why a request to a geodata service failed, naming the URL.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The service answered with an error status (after any retries).
    #[error("{url} answered {status}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Status {
        /// The URL asked.
        url: String,
        /// The status.
        status: StatusCode,
        /// The start of the body, if any.
        detail: Option<String>,
    },
    /// No answer: connection refused, reset, or timed out (after any retries).
    #[error("{url}: {message}")]
    Transport {
        /// The URL asked.
        url: String,
        /// What happened.
        message: String,
    },
    /// The answer could not be understood: malformed JSON or XML, a feature without geometry.
    #[error("{url}: {message}")]
    Malformed {
        /// The URL asked.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// The answer is in another CRS than asked, or its coordinates do not fit it.
    #[error("{url}: {message}")]
    Crs {
        /// The URL asked.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// Paging went wrong: a `next` link seen before, or more pages than the guard allows.
    #[error("{url}: {message}")]
    Paging {
        /// The URL asked.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// The configuration cannot work (e.g. an API key that is not a valid header value).
    #[error("{0}")]
    Config(String),
}

/// Counters of one client, for summaries and the benchmark.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests answered (any status), retries included.
    pub requests: AtomicU64,
    /// Retries made.
    pub retries: AtomicU64,
    /// Body bytes received.
    pub bytes: AtomicU64,
    /// Time spent waiting for answers, summed over requests (microseconds).
    pub wait_us: AtomicU64,
    /// Backoff chosen before retries, summed (milliseconds): Retry-After or the jittered backoff.
    pub backoff_ms: AtomicU64,
    /// Requests that had to wait for the rate limit before they were sent.
    pub throttled: AtomicU64,
}

/// A body with the headers that matter to the protocols.
#[derive(Debug)]
pub struct Body {
    /// The final URL.
    pub url: Url,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// `Content-Crs` (OGC API - Features part 2), if any.
    pub content_crs: Option<String>,
    /// The body.
    pub bytes: Vec<u8>,
}

/// One service's HTTP client.
pub struct Client {
    http: reqwest::Client,
    limiter: DefaultDirectRateLimiter,
    permits: Semaphore,
    config: ClientConfig,
    headers: HeaderMap,
    /// Counters.
    pub stats: Arc<Stats>,
}

impl Client {
    /// Builds a client; `api_key` is sent in `api_key_header` when given.
    pub fn new(config: &ClientConfig, api_key_header: &str, api_key: Option<&str>) -> Result<Client, FetchError> {
        crate::install_crypto_provider();
        let mut headers = HeaderMap::new();
        if let Some(key) = api_key {
            let name = HeaderName::from_bytes(api_key_header.as_bytes())
                .map_err(|_| FetchError::Config(format!("api_key_header '{api_key_header}' is not a valid header name")))?;
            let mut value = HeaderValue::from_str(key).map_err(|_| FetchError::Config("the API key is not a valid header value".into()))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("geodata-sync/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(config.timeout_seconds))
            .connect_timeout(Duration::from_secs(config.timeout_seconds.min(10)))
            .build()
            .map_err(|e| FetchError::Config(format!("cannot build the HTTP client: {e}")))?;
        let rate = NonZeroU32::new(config.requests_per_second).unwrap_or(NonZeroU32::MIN);
        Ok(Client {
            http,
            limiter: RateLimiter::direct(Quota::per_second(rate)),
            permits: Semaphore::new(config.max_concurrency.max(1) as usize),
            config: config.clone(),
            headers,
            stats: Arc::new(Stats::default()),
        })
    }

    /// The paging guard.
    pub fn max_pages(&self) -> u32 {
        self.config.max_pages
    }

    /// GETs `url` accepting `accept`, retrying timeouts, connection errors, 429 and 5xx.
    pub async fn get(&self, url: &Url, accept: &str) -> Result<Body, FetchError> {
        let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
        let mut attempt = 0u32;
        loop {
            if self.limiter.check().is_err() {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                self.limiter.until_ready().await;
            }
            let started = Instant::now();
            let result = self.http.get(url.clone()).headers(self.headers.clone()).header("Accept", accept).send().await;
            let (err, retry_after): (FetchError, Option<Duration>) = match result {
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = resp.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
                    let header = |n: &str| resp.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
                    let content_type = header("content-type");
                    let content_crs = header("content-crs");
                    let final_url = resp.url().clone();
                    match resp.bytes().await {
                        Ok(bytes) => {
                            self.count(started, bytes.len());
                            if status.is_success() {
                                return Ok(Body { url: final_url, content_type, content_crs, bytes: bytes.to_vec() });
                            }
                            let detail = snippet(&bytes);
                            let err = FetchError::Status { url: url.to_string(), status, detail };
                            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                                (err, retry_after)
                            } else {
                                return Err(err);
                            }
                        }
                        Err(e) => (transport(url, &e, self.config.timeout_seconds), None),
                    }
                }
                Err(e) => (transport(url, &e, self.config.timeout_seconds), None),
            };
            if attempt >= self.config.max_retries {
                return Err(err);
            }
            let wait = match retry_after {
                Some(d) if d > Duration::from_secs(self.config.max_retry_after_seconds) => {
                    return Err(FetchError::Transport {
                        url: url.to_string(),
                        message: format!("the service asks to retry after {} s, longer than max_retry_after_seconds ({err})", d.as_secs()),
                    });
                }
                Some(d) => d,
                None => self.backoff(attempt),
            };
            tracing::warn!(%url, attempt = attempt + 1, wait_ms = wait.as_millis() as u64, error = %err, "retrying");
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            self.stats.backoff_ms.fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    fn count(&self, started: Instant, bytes: usize) {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        self.stats.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.stats.wait_us.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    }

    /// "Full jitter": a random time up to min(max, initial · 2^attempt).
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self.config.initial_backoff_ms.saturating_mul(1u64 << attempt.min(30)).min(self.config.max_backoff_ms);
        let mut b = [0u8; 8];
        // Without randomness the backoff is the cap itself, which is still correct.
        let r = if getrandom::fill(&mut b).is_ok() { u64::from_le_bytes(b) } else { u64::MAX };
        Duration::from_millis(if cap == 0 { 0 } else { r % (cap + 1) })
    }
}

fn transport(url: &Url, e: &reqwest::Error, timeout_s: u64) -> FetchError {
    let message = if e.is_timeout() {
        format!("no answer within {timeout_s} s (timeout)")
    } else if e.is_connect() {
        format!("cannot connect: {}", root_cause(e))
    } else {
        format!("the request failed: {}", root_cause(e))
    };
    FetchError::Transport { url: url.to_string(), message }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The start of an error body, on one line.
fn snippet(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]);
    let one = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!one.is_empty()).then_some(one)
}

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    retry_after_at(v, chrono::Utc::now())
}

/// `Retry-After` as read at `now` (an HTTP date is a wait from then; a past date is none).
fn retry_after_at(v: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = v.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let millis = (at.with_timezone(&chrono::Utc) - now).num_milliseconds().max(0) as u64;
    Some(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_both_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        // An HTTP date is a wait from the moment it is read (a fixed moment here, not the clock).
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-24T08:00:00Z").unwrap().with_timezone(&chrono::Utc);
        assert_eq!(retry_after_at("Tue, 24 Nov 2026 08:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after_at("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::ZERO), "a past date: retry now");
        assert_eq!(parse_retry_after("soon"), None);
    }

    /// The chosen delays (values the function computes, not time that passed) stay under the
    /// exponential cap and differ from draw to draw.
    #[test]
    fn backoff_is_jittered_and_capped() {
        let config = crate::config::Config::default_profile().client;
        let c = Client::new(&config, "Authorization", None).unwrap();
        for attempt in 0..12 {
            let cap = Duration::from_millis((config.initial_backoff_ms << attempt).min(config.max_backoff_ms));
            let chosen: Vec<Duration> = (0..50).map(|_| c.backoff(attempt)).collect();
            assert!(chosen.iter().all(|d| *d <= cap), "attempt {attempt}");
            assert!(chosen.windows(2).any(|w| w[0] != w[1]), "jittered");
        }
    }
}
