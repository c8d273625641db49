//! Per-key token buckets by tier (governor's GCRA, lock-free per key): a
//! key may make its tier's requests per minute, in bursts up to the same
//! number, refilled continuously.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::key::Tier;

/// The outcome of a request against its key's bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; `remaining` requests left in the bucket now.
    Allowed {
        /// The tier's limit per minute.
        limit: u32,
        /// Left in the bucket.
        remaining: u32,
    },
    /// Refused until `retry_after` has passed.
    Limited {
        /// The tier's limit per minute.
        limit: u32,
        /// How long until one request is allowed again.
        retry_after: Duration,
    },
}

type Limiter = DefaultKeyedRateLimiter<i64, StateInformationMiddleware>;

/// One keyed limiter per tier.
pub struct RateLimits {
    by_tier: Vec<(Tier, u32, Limiter)>,
    clock: DefaultClock,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new(Tier::requests_per_minute)
    }
}

impl RateLimits {
    /// Limits with `per_minute(tier)` requests a minute for each tier.
    pub fn new(per_minute: impl Fn(Tier) -> u32) -> Self {
        let by_tier = Tier::ALL
            .into_iter()
            .map(|tier| {
                let n = NonZeroU32::new(per_minute(tier).max(1)).expect("at least 1");
                let limiter = RateLimiter::keyed(Quota::per_minute(n))
                    .with_middleware::<StateInformationMiddleware>();
                (tier, n.get(), limiter)
            })
            .collect();
        RateLimits {
            by_tier,
            clock: DefaultClock::default(),
        }
    }

    /// Takes one request from key `id`'s bucket.
    pub fn check(&self, id: i64, tier: Tier) -> Decision {
        let (_, limit, limiter) = self
            .by_tier
            .iter()
            .find(|(t, _, _)| *t == tier)
            .expect("every tier has a limiter");
        let limit = *limit;
        match limiter.check_key(&id) {
            Ok(state) => Decision::Allowed {
                limit,
                remaining: state.remaining_burst_capacity(),
            },
            Err(not_until) => Decision::Limited {
                limit,
                retry_after: not_until.wait_time_from(self.clock.now()),
            },
        }
    }

    /// Forgets keys that have refilled (bounded memory).
    pub fn shrink(&self) {
        for (_, _, limiter) in &self.by_tier {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// One token bucket per client address, for requests that present no
/// valid key: they have no key's bucket to draw from, and without one an
/// anonymous client could make the gateway do (and audit) unbounded work.
pub struct AddressLimits {
    limit: u32,
    limiter: DefaultKeyedRateLimiter<IpAddr, StateInformationMiddleware>,
    clock: DefaultClock,
}

impl AddressLimits {
    /// `per_minute` requests a minute per address, in bursts up to the same number.
    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).expect("at least 1");
        AddressLimits {
            limit: n.get(),
            limiter: RateLimiter::keyed(Quota::per_minute(n))
                .with_middleware::<StateInformationMiddleware>(),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one request from `address`'s bucket.
    pub fn check(&self, address: IpAddr) -> Decision {
        match self.limiter.check_key(&address) {
            Ok(state) => Decision::Allowed {
                limit: self.limit,
                remaining: state.remaining_burst_capacity(),
            },
            Err(not_until) => Decision::Limited {
                limit: self.limit,
                retry_after: not_until.wait_time_from(self.clock.now()),
            },
        }
    }

    /// Forgets addresses that have refilled (bounded memory).
    pub fn shrink(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_then_says_when_to_retry() {
        let limits = RateLimits::new(|_| 3);
        for left in [2, 1, 0] {
            assert_eq!(
                limits.check(7, Tier::Public),
                Decision::Allowed {
                    limit: 3,
                    remaining: left
                }
            );
        }
        let Decision::Limited { retry_after, .. } = limits.check(7, Tier::Public) else {
            panic!("the fourth request passed");
        };
        // 3 a minute: one token every 20 s.
        assert!(retry_after > Duration::from_secs(15) && retry_after <= Duration::from_secs(20));
        // Another key has its own bucket.
        assert!(matches!(
            limits.check(8, Tier::Public),
            Decision::Allowed { .. }
        ));
    }

    #[test]
    fn each_address_has_its_own_bucket() {
        let limits = AddressLimits::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(matches!(
            limits.check(a),
            Decision::Allowed { remaining: 1, .. }
        ));
        assert!(matches!(
            limits.check(a),
            Decision::Allowed { remaining: 0, .. }
        ));
        assert!(matches!(
            limits.check(a),
            Decision::Limited { limit: 2, .. }
        ));
        assert!(matches!(limits.check(b), Decision::Allowed { .. }));
    }
}
