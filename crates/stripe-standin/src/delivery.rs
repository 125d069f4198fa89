//! The record of one event's webhook delivery, as [`crate::StandIn::deliveries`] reports it (kept apart from the
//! delivery code, `webhooks`, so the state holding these records does not depend on it).

/// The delivery of one event to the webhook URL, so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// The HTTP status of the last attempt, if it got an answer.
    pub last_status: Option<u16>,
    /// Why the last attempt got no answer (connection refused, timeout), if it did not.
    pub last_error: Option<String>,
    /// Answered 2xx: no more attempts.
    pub delivered: bool,
    /// Every attempt of the retry schedule failed: no more attempts.
    pub gave_up: bool,
}
