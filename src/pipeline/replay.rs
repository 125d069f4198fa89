//! Replay: re-processes stored events from the events stream (the audit trail) by event id or time range,
//! through the same processor as the live pipeline, so de-duplication still applies. `--force` republishes
//! each outcome under a new outcome id (`<id>.replay-<unix ms>`), which consumers will see as a new message.

use std::{
    collections::BTreeSet,
    time::{Duration, SystemTime},
};

use async_nats::{
    header::NATS_MESSAGE_ID,
    jetstream::{self, consumer::pull, consumer::DeliverPolicy},
};
use futures::StreamExt;

use super::{
    pressure::Pressure,
    processor::{Attempt, ProcessError, Processed, Processor, STALE_AFTER},
};
use crate::{
    config::Config,
    error::{BoxError, Error, Unavailable},
    nats::streams,
    payment::outcome::Unused,
};

/// An operator's replay waits for a live worker's publication of the same order (and completes one left by a
/// dead worker, which stays unchanged this long) instead of failing at once.
const REPLAY_ATTEMPT: Attempt = Attempt {
    redelivered: false,
    patience: STALE_AFTER.saturating_add(Duration::from_secs(1)),
};

/// Which stored events to replay.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub event_ids: BTreeSet<String>,
    pub since: Option<SystemTime>,
    pub until: Option<SystemTime>,
}

/// What happened to one replayed event.
#[derive(Debug)]
pub struct Replayed {
    pub event_id: String,
    pub event_type: String,
    pub result: Result<Processed, ProcessError>,
}

/// What a replay went through.
#[derive(Debug, Default)]
pub struct Summary {
    pub replayed: usize,
    /// Named event ids that are not in the events stream.
    pub not_found: BTreeSet<String>,
}

pub struct Replayer {
    js: jetstream::Context,
    stream: String,
    processor: Processor,
}

impl Replayer {
    pub async fn connect(config: &Config, client: async_nats::Client) -> Result<Self, Error> {
        let js = jetstream::new(client);
        let stores = streams::ensure(&js, config)
            .await
            .map_err(|e| Unavailable::because("JetStream", e))?;
        let stripe = crate::stripe::client::StripeApi::new(config).map_err(Error::Internal)?;
        let processor = Processor::new(
            config,
            js.clone(),
            stores.ledger,
            stripe,
            Pressure::default(),
        );
        Ok(Self {
            js,
            stream: config.events_stream.clone(),
            processor,
        })
    }

    /// Replays the selected events in stream order, calling `report` after each.
    pub async fn run(
        &self,
        selection: &Selection,
        force: bool,
        mut report: impl FnMut(&Replayed),
    ) -> Result<Summary, Error> {
        let mut stream = self
            .js
            .get_stream(&self.stream)
            .await
            .map_err(unavailable)?;
        let last = stream
            .info()
            .await
            .map_err(unavailable)?
            .state
            .last_sequence;
        if last == 0 {
            return Ok(Summary {
                replayed: 0,
                not_found: selection.event_ids.clone(),
            });
        }
        let deliver_policy = match selection.since {
            Some(since) => DeliverPolicy::ByStartTime {
                start_time: since.into(),
            },
            None => DeliverPolicy::All,
        };
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                deliver_policy,
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        let mut messages = consumer.messages().await.map_err(unavailable)?;
        let suffix = force.then(|| {
            let ms = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            format!("replay-{ms}")
        });
        let mut remaining = selection.event_ids.clone();
        let mut replayed = 0;
        while let Some(message) = messages.next().await {
            let message = message.map_err(unavailable)?;
            let info = message.info().map_err(unavailable)?;
            let (sequence, published) = (info.stream_sequence, SystemTime::from(info.published));
            let header = |name: &str| {
                message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(name))
                    .map(|v| v.to_string())
            };
            let event_id = header(NATS_MESSAGE_ID.as_ref()).unwrap_or_default();
            let past_range = selection.until.is_some_and(|until| published > until);
            let wanted = selection.event_ids.is_empty() || remaining.remove(&event_id);
            if wanted && !past_range {
                let result = self
                    .processor
                    .process(&message.payload, suffix.as_deref(), REPLAY_ATTEMPT)
                    .await;
                replayed += 1;
                report(&Replayed {
                    event_id,
                    event_type: header("Stripe-Event-Type").unwrap_or_default(),
                    result,
                });
            }
            let ids_done = !selection.event_ids.is_empty() && remaining.is_empty();
            if sequence >= last || past_range || ids_done {
                break;
            }
        }
        Ok(Summary {
            replayed,
            not_found: remaining,
        })
    }
}

/// One line for a person: what replaying the event did.
pub fn describe(replayed: &Replayed, force: bool) -> String {
    let what = match &replayed.result {
        Ok(Processed::Published(ids)) if force => format!(
            "republished as {} (--force: a new outcome id; consumers receive it again)",
            ids.join(", ")
        ),
        Ok(Processed::Published(ids)) => format!("published {}", ids.join(", ")),
        Ok(Processed::Duplicate(id)) => format!("nothing published: {id} was already published"),
        Ok(Processed::Superseded(why)) => format!("nothing published: superseded ({why})"),
        Ok(Processed::Ignored(Unused::Unusable(why))) => format!("unusable: {why}"),
        Ok(Processed::Ignored(Unused::NotYet(why))) => format!("nothing to publish: {why}"),
        Ok(Processed::Ignored(Unused::IrrelevantType)) => {
            "nothing to publish: event type not used".into()
        }
        Err(e) => format!("failed: {e}"),
    };
    format!("{} {} → {what}", replayed.event_id, replayed.event_type)
}

fn unavailable(e: impl Into<BoxError>) -> Error {
    Unavailable::because("events stream", e).into()
}
