//! The one way a test waits for something asynchronous: a probe polled until a condition holds, with a deadline
//! and a description. Past the deadline the test fails naming what it waited for and the last value it saw, so a
//! failure says how far things got instead of hanging or reporting a bare timeout.

use std::{
    fmt::{Debug, Display},
    future::Future,
    time::Duration,
};

use tokio::time::{timeout_at, Instant};

/// Between two probes: short enough not to slow a test down, long enough not to busy-loop the two CI cores.
const POLL: Duration = Duration::from_millis(20);

/// Runs `probe` until `done` holds for what it returns, and returns that value. Panics with `what` and the last
/// value observed when `within` has passed, also when a probe is still running then (a hung probe cannot hang
/// the test).
pub async fn await_until<T, F, Fut>(
    what: impl Display,
    within: Duration,
    probe: F,
    done: impl Fn(&T) -> bool,
) -> T
where
    T: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    match poll_until(within, probe, done).await {
        Ok(value) => value,
        Err(TimedOut { last: Some(last) }) => {
            panic!("{what}: not within {within:?}; last observed: {last:?}")
        }
        Err(TimedOut { last: None }) => {
            panic!("{what}: not within {within:?} (the first probe was still running)")
        }
    }
}

/// The deadline passed before the condition held; `last` is what the last finished probe returned.
#[derive(Debug)]
pub struct TimedOut<T> {
    pub last: Option<T>,
}

/// `await_until` for a test that reports a timeout itself (with more than the last value, e.g. a server's log):
/// the same polling, the timeout returned instead of raised.
pub async fn poll_until<T, F, Fut>(
    within: Duration,
    mut probe: F,
    done: impl Fn(&T) -> bool,
) -> Result<T, TimedOut<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let deadline = Instant::now() + within;
    let mut last = None;
    loop {
        let Ok(value) = timeout_at(deadline, probe()).await else {
            return Err(TimedOut { last });
        };
        if done(&value) {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(TimedOut { last: Some(value) });
        }
        last = Some(value);
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_first_value_that_satisfies_the_condition() {
        let mut n = 0;
        let seen = await_until(
            "n reaches 3",
            Duration::from_secs(5),
            || {
                n += 1;
                std::future::ready(n)
            },
            |n| *n >= 3,
        )
        .await;
        assert_eq!(seen, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "the answer: not within 50ms; last observed: 41")]
    async fn fails_with_the_description_and_the_last_value() {
        await_until(
            "the answer",
            Duration::from_millis(50),
            || std::future::ready(41),
            |n| *n == 42,
        )
        .await;
    }

    #[tokio::test]
    #[should_panic(expected = "a reply: not within 50ms (the first probe was still running)")]
    async fn a_hung_probe_fails_at_the_deadline() {
        await_until(
            "a reply",
            Duration::from_millis(50),
            std::future::pending::<u8>,
            |_| true,
        )
        .await;
    }
}
