//! `payments inspect <orderId | cs_… | pi_… | ch_… | evt_…> [--json]`: a payment's timeline from the service's
//! own records (CONTRACT §10), with the service's configuration (environment and `.env`). Exit 0 with the
//! timeline, 1 when nothing is known of the id, 2 when NATS cannot be reached (servers and cause named) or the
//! configuration is wrong.

use std::time::Duration;

use async_nats::jetstream;

use super::connect::{configured, UNREACHABLE};
use crate::inspect::{inspect, table, InspectError};

/// Longest an inspection may take once connected.
const WITHIN: Duration = Duration::from_secs(30);

pub async fn run(id: String, json: bool) -> i32 {
    let client = match configured("inspect").await {
        Ok((_, client)) => client,
        Err(code) => return code,
    };
    let js = jetstream::new(client);
    let timeline = match tokio::time::timeout(WITHIN, inspect(&js, id.trim())).await {
        Ok(Ok(timeline)) => timeline,
        Ok(Err(e @ InspectError::Unknown(_))) => {
            eprintln!("payments inspect: {e}");
            return 1;
        }
        Ok(Err(e)) => {
            eprintln!("payments inspect: {e}");
            return UNREACHABLE;
        }
        Err(_) => {
            eprintln!("payments inspect: JetStream did not answer within {WITHIN:?}");
            return UNREACHABLE;
        }
    };
    if json {
        match serde_json::to_string(&timeline) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("payments inspect: {e}");
                return 1;
            }
        }
    } else {
        print!("{}", table(&timeline));
    }
    0
}
