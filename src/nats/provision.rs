//! Idempotent, concurrent set-up of one JetStream stream or key-value bucket, safe against any number of
//! replicas doing the same at the same moment on a fresh cluster.
//!
//! Measured on a fresh 3-node cluster (README, "Readiness on a fresh NATS cluster"): JetStream API requests sent before
//! the cluster's meta leader is elected get no answer at all (each waited out the 10 s request timeout), and a
//! stream *update* racing with another replica's *create* of the same stream also goes unanswered — which
//! `create_or_update_stream` (update first, create on "not found") does on every replica at once; so can a
//! look-up of a stream another replica is still creating. So: wait for JetStream to answer with short probes,
//! then create each stream (a create with the same settings is success, whoever created it first, and is
//! answered as soon as the stream has a leader); only when it exists with other settings, fetch it, compare, and
//! update what differs. Each stream is retried on its own after a short pause, with set-up requests bounded by a
//! short timeout, all of them concurrently. Last, `reachable` waits until this replica's server routes a publish
//! to a new stream (its subjects reach the other nodes a few milliseconds after the create).

use std::{
    error::Error as StdError,
    time::{Duration, Instant},
};

use async_nats::jetstream::{
    self,
    context::{CreateStreamErrorKind, GetStreamErrorKind},
    kv, stream, ErrorCode,
};

/// Set-up could not finish: which stream or bucket, and why.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("JetStream did not answer within {0:?} (NATS unreachable, JetStream not enabled, or no meta leader)")]
    Unavailable(Duration),
    #[error("no answer within the set-up request timeout")]
    Unanswered,
    #[error("a publish to {0} does not reach its stream through this server yet")]
    Unreachable(String),
    #[error("stream {name}: {source}")]
    Stream {
        name: String,
        #[source]
        source: async_nats::Error,
    },
}

/// The bound of one set-up attempt at first: short, because an unanswered request is retried, not waited out;
/// it doubles on each retry up to `LONGEST_ATTEMPT`, in case the cluster is merely slow.
const FIRST_ATTEMPT: Duration = Duration::from_secs(1);
const LONGEST_ATTEMPT: Duration = Duration::from_secs(4);
/// The bound of one JetStream probe while the meta leader is being elected.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// Returns once JetStream answers an account-info request (a meta leader exists), or fails after `within`.
pub async fn wait_for_jetstream(
    js: &jetstream::Context,
    within: Duration,
) -> Result<(), SetupError> {
    let deadline = Instant::now() + within;
    loop {
        let started = Instant::now();
        if let Ok(Ok(_)) = tokio::time::timeout(PROBE_TIMEOUT, js.query_account()).await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(SetupError::Unavailable(within));
        }
        // An unanswered probe already waited; a quick refusal (no responders while connecting) must not spin.
        let floor = Duration::from_millis(100);
        tokio::time::sleep(floor.saturating_sub(started.elapsed())).await;
    }
}

/// Returns once a publish to `subject` through this connection's server reaches its stream. Right after a stream
/// is created, another node of the cluster may not know its subjects yet (measured: a webhook stored through it
/// got "no stream found" a few milliseconds after set-up), and readiness must mean a webhook can be stored.
/// The probe expects a last sequence no stream ever has, so the stream answers it with a refusal and stores nothing.
pub async fn reachable(
    js: &jetstream::Context,
    subject: String,
    deadline: Instant,
) -> Result<(), SetupError> {
    use async_nats::{header::NATS_EXPECTED_LAST_SEQUENCE, HeaderMap};
    use jetstream::context::PublishErrorKind;
    let mut headers = HeaderMap::new();
    headers.insert(NATS_EXPECTED_LAST_SEQUENCE, u64::MAX.to_string().as_str());
    loop {
        let probe = async {
            js.publish_with_headers(subject.clone(), headers.clone(), Default::default())
                .await?
                .await
        };
        match tokio::time::timeout(FIRST_ATTEMPT, probe).await {
            // Any answer from the stream (the expected refusal, or even a full stream's) proves the route.
            Ok(Err(e))
                if !matches!(
                    e.kind(),
                    PublishErrorKind::StreamNotFound
                        | PublishErrorKind::TimedOut
                        | PublishErrorKind::BrokenPipe
                ) =>
            {
                return Ok(())
            }
            Ok(Ok(_)) => return Ok(()),
            _ if Instant::now() >= deadline => return Err(SetupError::Unreachable(subject)),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// What one attempt at a stream or bucket came to.
enum Step<T> {
    Done(T),
    /// Another replica got there in between (created it, or it is still being created): look again.
    Again,
}

/// Makes sure stream `want` exists with `want`'s settings.
pub async fn stream(
    js: &jetstream::Context,
    want: stream::Config,
    deadline: Instant,
) -> Result<(), SetupError> {
    let name = want.name.clone();
    retry(&name, deadline, || stream_once(js, &want)).await
}

/// Makes sure bucket `want` exists with `want`'s settings, and opens it.
pub async fn bucket(
    js: &jetstream::Context,
    want: kv::Config,
    deadline: Instant,
) -> Result<kv::Store, SetupError> {
    let name = format!("KV_{}", want.bucket);
    retry(&name, deadline, || bucket_once(js, &want)).await
}

async fn stream_once(
    js: &jetstream::Context,
    want: &stream::Config,
) -> Result<Step<()>, async_nats::Error> {
    match js.create_stream(want.clone()).await {
        Ok(_) => Ok(Step::Done(())),
        // It exists with other settings (an older version of the service, or an operator's change).
        Err(e) if is_name_taken(&e) => {
            let found = match js.get_stream(want.name.as_str()).await {
                Ok(found) => found,
                Err(e) if is_not_found(&e) => return Ok(Step::Again),
                Err(e) => return Err(e.into()),
            };
            let have = &found.cached_info().config;
            if stream_differs(have, want) {
                js.update_stream(overlay(have, want)).await?;
            }
            Ok(Step::Done(()))
        }
        Err(e) => Err(e.into()),
    }
}

async fn bucket_once(
    js: &jetstream::Context,
    want: &kv::Config,
) -> Result<Step<kv::Store>, async_nats::Error> {
    match js.create_key_value(want.clone()).await {
        Ok(store) => Ok(Step::Done(store)),
        Err(e) if is_name_taken(&e) => {
            let store = match js.get_key_value(want.bucket.as_str()).await {
                Ok(store) => store,
                Err(e) if is_not_found(&e) => return Ok(Step::Again),
                Err(e) => return Err(e.into()),
            };
            if bucket_differs(&store.stream.cached_info().config, want) {
                return Ok(Step::Done(js.update_key_value(want.clone()).await?));
            }
            Ok(Step::Done(store))
        }
        Err(e) => Err(e.into()),
    }
}

/// `have` with this service's settings from `want`; whatever else an operator set is kept.
fn overlay(have: &stream::Config, want: &stream::Config) -> stream::Config {
    stream::Config {
        subjects: want.subjects.clone(),
        description: want.description.clone(),
        max_age: want.max_age,
        max_bytes: want.max_bytes,
        duplicate_window: want.duplicate_window,
        num_replicas: want.num_replicas,
        retention: want.retention,
        discard: want.discard,
        ..have.clone()
    }
}

/// Repeats `attempt` until done, after a short growing pause on a transient failure, until `deadline`; a permanent refusal (a bad configuration) ends it at once. Each attempt
/// is bounded by its own timeout, not by the context's (10 s by default), which the opened buckets keep.
async fn retry<T, F, Fut>(name: &str, deadline: Instant, mut attempt: F) -> Result<T, SetupError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Step<T>, async_nats::Error>>,
{
    let mut pause = Duration::from_millis(50);
    let mut bound = FIRST_ATTEMPT;
    loop {
        let error = match tokio::time::timeout(bound, attempt()).await {
            Ok(Ok(Step::Done(value))) => return Ok(value),
            // Rare (a stream deleted between two requests): look again soon, within the deadline.
            Ok(Ok(Step::Again)) if Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                continue;
            }
            Ok(Ok(Step::Again)) => SetupError::Unanswered.into(),
            Ok(Err(error)) => error,
            Err(_) => {
                bound = (bound * 2).min(LONGEST_ATTEMPT);
                SetupError::Unanswered.into()
            }
        };
        if !is_transient(error.as_ref()) || Instant::now() + pause >= deadline {
            return Err(SetupError::Stream {
                name: name.to_owned(),
                source: error,
            });
        }
        tracing::debug!(stream = name, error = %error, "JetStream set-up step failed; retrying");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// The settings this service sets on a stream, as the server holds them, differ from `want`.
fn stream_differs(have: &stream::Config, want: &stream::Config) -> bool {
    have.subjects != want.subjects
        || have.description != want.description
        || have.max_age != want.max_age
        || have.max_bytes != want.max_bytes
        || have.duplicate_window != want.duplicate_window
        || have.num_replicas != want.num_replicas
        || have.retention != want.retention
        || have.discard != want.discard
}

/// The same for a bucket's stream (`KV_<bucket>`).
fn bucket_differs(have: &stream::Config, want: &kv::Config) -> bool {
    have.description.as_deref() != Some(want.description.as_str())
        || have.max_age != want.max_age
        || have.max_bytes != want.max_bytes
        || have.max_messages_per_subject != want.history
        || have.num_replicas != want.num_replicas
}

/// The JetStream error code somewhere in an error's chain, and whether the request went unanswered.
fn jetstream_code(error: &(dyn StdError + 'static)) -> (Option<ErrorCode>, bool) {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(e) = e.downcast_ref::<jetstream::context::CreateStreamError>() {
            match e.kind() {
                CreateStreamErrorKind::JetStream(js) => return (Some(js.error_code()), false),
                CreateStreamErrorKind::TimedOut | CreateStreamErrorKind::JetStreamUnavailable => {
                    return (None, true)
                }
                _ => {}
            }
        }
        if let Some(e) = e.downcast_ref::<jetstream::context::GetStreamError>() {
            match e.kind() {
                GetStreamErrorKind::JetStream(js) => return (Some(js.error_code()), false),
                GetStreamErrorKind::Request => return (None, true),
                _ => {}
            }
        }
        if let Some(e) = e.downcast_ref::<async_nats::RequestError>() {
            return (
                None,
                e.kind() != async_nats::RequestErrorKind::InvalidSubject,
            );
        }
        if let Some(SetupError::Unanswered) = e.downcast_ref::<SetupError>() {
            return (None, true);
        }
        if let Some(e) = e.downcast_ref::<jetstream::Error>() {
            return (Some(e.error_code()), false);
        }
        current = e.source();
    }
    (None, false)
}

fn is_not_found(error: &(dyn StdError + 'static)) -> bool {
    jetstream_code(error).0 == Some(ErrorCode::STREAM_NOT_FOUND)
}

fn is_name_taken(error: &(dyn StdError + 'static)) -> bool {
    jetstream_code(error).0 == Some(ErrorCode::STREAM_NAME_EXIST)
}

/// Worth trying again soon: unanswered, or refused because the cluster is still forming (no meta leader, peers
/// not yet known for placement, a leader change).
fn is_transient(error: &(dyn StdError + 'static)) -> bool {
    match jetstream_code(error) {
        (_, true) => true,
        (Some(code), _) => [
            ErrorCode::CLUSTER_INCOMPLETE,
            ErrorCode::CLUSTER_NO_PEERS,
            ErrorCode::CLUSTER_NOT_ACTIVE,
            ErrorCode::CLUSTER_NOT_ASSIGNED,
            ErrorCode::CLUSTER_NOT_AVAILABLE,
            ErrorCode::CLUSTER_NOT_LEADER,
            ErrorCode::RAFT_GENERAL,
            ErrorCode::STREAM_NOT_FOUND,
        ]
        .contains(&code),
        // No code and answered: a failure of the connection itself, also worth another try.
        (None, false) => true,
    }
}
