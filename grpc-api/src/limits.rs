//! Rate limits: one token bucket per principal (per client address for anonymous callers),
//! with a quota per role. REST and gRPC draw on the same bucket.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use registry_core::auth::{Principal, Role};

/// Requests per period (sustained; bursts up to twice that) for each role; the period is a
/// second unless [`RateLimits::with_period`] says otherwise.
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
    /// Signed-in residents, per person (staff count as editors).
    pub resident: u32,
}

impl Default for RateQuotas {
    fn default() -> Self {
        RateQuotas { anonymous: 20, editor: 50, vendor: 100, national_body: 50, admin: 200, resident: 20 }
    }
}

impl RateQuotas {
    /// The same quota for every role (tests and benchmarks whose load comes from one address
    /// or one key).
    pub fn all(per_period: u32) -> Self {
        RateQuotas {
            anonymous: per_period,
            editor: per_period,
            vendor: per_period,
            national_body: per_period,
            admin: per_period,
            resident: per_period,
        }
    }
}

/// The keyed limiters, one per role.
#[derive(Clone)]
pub struct RateLimits {
    limiters: Arc<[DefaultKeyedRateLimiter<String>; 6]>,
}

fn limiter(per_period: u32, period: Duration) -> DefaultKeyedRateLimiter<String> {
    let n = per_period.max(1);
    let burst = NonZeroU32::new(n.saturating_mul(2)).expect("at least one");
    let quota = Quota::with_period((period / n).max(Duration::from_nanos(1))).expect("a period above zero");
    RateLimiter::keyed(quota.allow_burst(burst))
}

impl RateLimits {
    /// Builds the limiters, the quotas counted per second.
    pub fn new(q: RateQuotas) -> Self {
        Self::with_period(q, Duration::from_secs(1))
    }

    /// Builds the limiters, the quotas counted per `period`: a bucket takes the quota's burst
    /// and refills at the quota per `period`.
    pub fn with_period(q: RateQuotas, period: Duration) -> Self {
        let l = |n| limiter(n, period);
        RateLimits { limiters: Arc::new([l(q.anonymous), l(q.editor), l(q.vendor), l(q.national_body), l(q.admin), l(q.resident)]) }
    }

    /// Takes one token for this caller; on refusal, how long to wait.
    pub fn check(&self, p: &Principal, ip: Option<IpAddr>) -> Result<(), Duration> {
        let (i, key) = match &p.role {
            Role::Anonymous => (0, format!("ip:{}", ip.map(|i| i.to_string()).unwrap_or_default())),
            Role::MunicipalityEditor { .. } => (1, p.id.clone()),
            Role::Vendor => (2, p.id.clone()),
            Role::NationalBody => (3, p.id.clone()),
            Role::Admin | Role::System => (4, p.id.clone()),
            Role::Resident => (5, p.id.clone()),
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
        // Per hour, so that no token comes back while the test runs, however slowly.
        let hour = Duration::from_secs(3600);
        let limits = RateLimits::with_period(RateQuotas { anonymous: 1, editor: 2, ..Default::default() }, hour);
        let a = Principal::editor("key:a", "1881");
        let b = Principal::editor("key:b", "1881");
        let ok = (0..10).filter(|_| limits.check(&a, None).is_ok()).count();
        assert_eq!(ok, 4, "burst is twice the rate");
        let wait = limits.check(&a, None).unwrap_err();
        assert!(wait > hour / 4 && wait <= hour / 2, "the next token comes after half an hour: {wait:?}");
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
