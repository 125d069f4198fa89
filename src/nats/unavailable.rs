//! The error of anything kept in NATS JetStream (a stream, a bucket) that cannot be done now: the caller retries
//! (HTTP and NATS callers get a 503, the pipeline redelivers the event later).

use std::borrow::Cow;

/// Any cause, for the `source` of an error whose cause comes from a library.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// NATS JetStream (a stream or a bucket) could not do what was asked, now: retrying later can succeed. It reads
/// `doing: cause` on its own (logs print it so), and keeps the cause as its `source`.
#[derive(Debug, thiserror::Error)]
#[error("{doing}{}", .source.as_ref().map(|s| format!(": {s}")).unwrap_or_default())]
pub struct Unavailable {
    /// What could not be done, e.g. `checking the Idempotency-Key`.
    doing: Cow<'static, str>,
    #[source]
    source: Option<BoxError>,
}

impl Unavailable {
    /// Unavailable for a reason said in words (nothing to connect to, no answer in time).
    pub fn new(doing: impl Into<Cow<'static, str>>) -> Self {
        Self {
            doing: doing.into(),
            source: None,
        }
    }

    /// Unavailable because of `source`.
    pub fn because(doing: impl Into<Cow<'static, str>>, source: impl Into<BoxError>) -> Self {
        Self {
            doing: doing.into(),
            source: Some(source.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Unavailable;

    #[test]
    fn reads_with_its_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out");
        let error = Unavailable::because("order journal", io);
        assert_eq!(error.to_string(), "order journal: timed out");
        assert_eq!(crate::causes::chain(&error), "order journal: timed out");
        assert_eq!(Unavailable::new("no JetStream").to_string(), "no JetStream");
    }
}
