//! A circuit breaker per vendor: closed while calls succeed; open after `threshold`
//! consecutive failures, refusing calls for `open_for`; then half-open, letting one probe
//! through, which closes it on success or opens it again on failure.

use std::time::{Duration, Instant};

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Calls go through.
    Closed,
    /// Calls are refused until the instant.
    Open(Instant),
    /// One probe is in flight; others are refused.
    HalfOpen,
}

/// A circuit breaker.
#[derive(Debug)]
pub struct Breaker {
    state: State,
    failures: u32,
    threshold: u32,
    open_for: Duration,
}

/// Whether a call may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Yes (closed).
    Call,
    /// Yes, as the half-open probe.
    Probe,
    /// No: the circuit is open (or a probe is already out).
    Refused,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(threshold: u32, open_for: Duration) -> Breaker {
        Breaker { state: State::Closed, failures: 0, threshold: threshold.max(1), open_for }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Asks to make a call at `now`.
    pub fn allow(&mut self, now: Instant) -> Permit {
        match self.state {
            State::Closed => Permit::Call,
            State::Open(until) if now >= until => {
                self.state = State::HalfOpen;
                Permit::Probe
            }
            State::Open(_) | State::HalfOpen => Permit::Refused,
        }
    }

    /// Records a call's outcome.
    pub fn record(&mut self, success: bool, now: Instant) {
        if success {
            self.failures = 0;
            self.state = State::Closed;
            return;
        }
        self.failures += 1;
        if self.state == State::HalfOpen || self.failures >= self.threshold {
            self.state = State::Open(now + self.open_for);
        }
    }

    /// Releases a probe permit whose call was not made (e.g. served from the cache).
    pub fn release_probe(&mut self, now: Instant) {
        if self.state == State::HalfOpen {
            self.state = State::Open(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_recovers_through_a_probe() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, Duration::from_secs(5));
        for _ in 0..2 {
            assert_eq!(b.allow(t0), Permit::Call);
            b.record(false, t0);
        }
        b.record(true, t0);
        assert_eq!(b.state(), State::Closed, "a success resets the count");
        for _ in 0..3 {
            b.record(false, t0);
        }
        assert_eq!(b.allow(t0 + Duration::from_secs(1)), Permit::Refused, "open");
        assert_eq!(b.allow(t0 + Duration::from_secs(5)), Permit::Probe, "half-open after open_for");
        assert_eq!(b.allow(t0 + Duration::from_secs(5)), Permit::Refused, "one probe at a time");
        b.record(false, t0 + Duration::from_secs(5));
        assert_eq!(b.allow(t0 + Duration::from_secs(6)), Permit::Refused, "a failed probe opens it again");
        assert_eq!(b.allow(t0 + Duration::from_secs(10)), Permit::Probe);
        b.record(true, t0 + Duration::from_secs(10));
        assert_eq!(b.allow(t0 + Duration::from_secs(10)), Permit::Call, "a good probe closes it");
    }
}
