//! Rate limits: one token bucket per principal (per client address for anonymous callers),
//! with a quota per role. REST and gRPC draw on the same bucket.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use registry_core::auth::{Principal, Role};

/// Requests per second (sustained; bursts up to twice that) for each role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateQuotas {
    /// Anonymous callers, per client address.
    pub anonymous: u32,
    /// Municipality editors, per key.
    pub editor: u32,
    /// Vendors, per key or certificate.
    pub vendor: u32,
    /// National bodies, per key.
    pub national_body: u32,
    /// Admins, per key.
    pub admin: u32,
}

impl Default for RateQuotas {
    fn default() -> Self {
        RateQuotas { anonymous: 20, editor: 50, vendor: 100, national_body: 50, admin: 200 }
    }
}

/// The keyed limiters, one per role.
#[derive(Clone)]
pub struct RateLimits {
    limiters: Arc<[DefaultKeyedRateLimiter<String>; 5]>,
}

fn limiter(per_second: u32) -> DefaultKeyedRateLimiter<String> {
    let rate = NonZeroU32::new(per_second.max(1)).expect("at least one");
    let burst = NonZeroU32::new(per_second.max(1).saturating_mul(2)).expect("at least one");
    RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
}

impl RateLimits {
    /// Builds the limiters.
    pub fn new(q: RateQuotas) -> Self {
        RateLimits {
            limiters: Arc::new([limiter(q.anonymous), limiter(q.editor), limiter(q.vendor), limiter(q.national_body), limiter(q.admin)]),
        }
    }

    /// Takes one token for this caller; on refusal, how long to wait.
    pub fn check(&self, p: &Principal, ip: Option<IpAddr>) -> Result<(), Duration> {
        let (i, key) = match &p.role {
            Role::Anonymous => (0, format!("ip:{}", ip.map(|i| i.to_string()).unwrap_or_default())),
            Role::MunicipalityEditor { .. } => (1, p.id.clone()),
            Role::Vendor => (2, p.id.clone()),
            Role::NationalBody => (3, p.id.clone()),
            Role::Admin | Role::System => (4, p.id.clone()),
        };
        self.limiters[i].check_key(&key).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets buckets that are full again, so the keyed state does not grow without bound.
    pub fn prune(&self) {
        for l in self.limiters.iter() {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    /// Number of keys currently tracked (for metrics and tests).
    pub fn tracked(&self) -> usize {
        self.limiters.iter().map(|l| l.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_over_quota_is_refused_per_key() {
        let limits = RateLimits::new(RateQuotas { anonymous: 1, editor: 2, ..Default::default() });
        let a = Principal::editor("key:a", "1881");
        let b = Principal::editor("key:b", "1881");
        let ok = (0..10).filter(|_| limits.check(&a, None).is_ok()).count();
        assert_eq!(ok, 4, "burst is twice the per-second rate");
        let wait = limits.check(&a, None).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(limits.check(&b, None).is_ok(), "another key has its own bucket");
        let anon = Principal::anonymous();
        let ip1: IpAddr = "127.0.0.1".parse().unwrap();
        let ip2: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(limits.check(&anon, Some(ip1)).is_ok() && limits.check(&anon, Some(ip1)).is_ok());
        assert!(limits.check(&anon, Some(ip1)).is_err());
        assert!(limits.check(&anon, Some(ip2)).is_ok(), "anonymous callers are limited per address");
        assert_eq!(limits.tracked(), 4);
    }
}
