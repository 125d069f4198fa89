//! The pause between retries that the service and the stand-in all use: doubling from a first pause up to a cap
//! (Stripe's webhook deliveries back off this way, as do its client libraries). It is a pure function of the
//! attempt number because most retries here are not loops around one future: the service's pipeline computes the
//! pause of a JetStream delayed NAK from the message's delivery count.

use std::time::Duration;

/// `first`, `2 × first`, `4 × first` … never longer than `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const fn new(first: Duration, max: Duration) -> Backoff {
        Backoff { first, max }
    }

    /// The pause after failed attempt `attempt` (1-based; 0 counts as 1). Exact (integer) arithmetic, saturating:
    /// any attempt number, however large, gives at most `max`.
    pub fn after(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn doubles_from_the_first_pause_up_to_the_cap() {
        let backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(8));
        let pauses: Vec<u128> = (0..=8).map(|n| backoff.after(n).as_millis()).collect();
        assert_eq!(pauses, [250, 250, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
    }

    #[test]
    fn exact_for_pauses_no_float_can_hold() {
        let backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(100));
        let pauses: Vec<Duration> = (1..=5).map(|n| backoff.after(n)).collect();
        let ms = Duration::from_millis;
        assert_eq!(pauses, [ms(10), ms(20), ms(40), ms(80), ms(100)]);
    }

    #[test]
    fn huge_attempt_numbers_saturate_at_the_cap() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
        for attempt in [20, 31, 32, 33, 1000, u32::MAX] {
            assert_eq!(
                backoff.after(attempt),
                Duration::from_secs(300),
                "{attempt}"
            );
        }
        let uncapped = Backoff::new(Duration::from_secs(1), Duration::MAX);
        assert_eq!(
            uncapped.after(u32::MAX),
            Duration::from_secs(u64::from(u32::MAX))
        );
    }
}
