//! `payments trigger <event-type>`: like `stripe trigger`, offline. Builds a realistic event of that type (the
//! Checkout emulator's samples, test mode), registers the objects it refers to with the emulator so the service's
//! Stripe look-ups find them (and says so loudly when it cannot), signs it with the endpoint secret, posts it to
//! the webhook, and prints the answer. It refuses to run next to a live Stripe key: its events are test data.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use stripe_standin::events::{try_sample, Sample, SAMPLE_TYPES};

use crate::causes::chain;
use crate::stripe::signature;

pub struct Trigger {
    pub event_type: String,
    pub order_id: Option<String>,
    pub url: String,
    pub secret: Option<String>,
    pub api: Option<String>,
}

/// Prefixes of live-mode API keys (secret and restricted).
const LIVE_KEYS: [&str; 2] = ["sk_live_", "rk_live_"];

pub async fn run(args: Trigger) -> i32 {
    if std::env::var("STRIPE_SECRET").is_ok_and(|key| LIVE_KEYS.iter().any(|p| key.starts_with(p)))
    {
        eprintln!(
            "payments trigger: refusing to run: STRIPE_SECRET is a live key (sk_live_/rk_live_). trigger sends \
             made-up test events; run it against a test-mode setup (an sk_test_ key and the emulator)."
        );
        return 2;
    }
    let order_id = args
        .order_id
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let Some(mut sample) = try_sample(&args.event_type, &order_id) else {
        eprintln!(
            "payments trigger: unsupported event type {:?}; one of:\n  {}",
            args.event_type,
            SAMPLE_TYPES.join("\n  ")
        );
        return 2;
    };
    let Some(secret) = args.secret.or_else(first_endpoint_secret) else {
        eprintln!("payments trigger: no signing secret: pass --secret whsec_… or set STRIPE_ENDPOINT_SECRET");
        return 2;
    };
    test_mode(&mut sample);
    let http = reqwest::Client::new();
    register(&http, args.api.as_deref(), &sample).await;
    // Stripe sends pretty-printed JSON; the signature covers exactly these bytes.
    let body = serde_json::to_string_pretty(&sample.event).expect("event serialises");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let sent = http
        .post(&args.url)
        .header("content-type", "application/json")
        .header(
            "stripe-signature",
            signature::sign(&secret, now, body.as_bytes()),
        )
        .body(body)
        .send()
        .await;
    let event_id = sample.event["id"].as_str().unwrap_or_default();
    match sent {
        Ok(response) => {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            println!(
                "{} {event_id} (order {order_id}) → {status}",
                args.event_type
            );
            println!("{text}");
            i32::from(!status.is_success())
        }
        Err(e) => {
            eprintln!("payments trigger: cannot reach {}: {}", args.url, chain(&e));
            1
        }
    }
}

/// Marks the event and every object it carries or refers to as test mode, whatever the samples say.
fn test_mode(sample: &mut Sample) {
    sample.event["livemode"] = Value::Bool(false);
    sample.event["data"]["object"]["livemode"] = Value::Bool(false);
    for object in &mut sample.objects {
        object["livemode"] = Value::Bool(false);
    }
}

/// Registers the sample's objects with the emulator at `api`; when that is impossible, warns that the service's
/// Stripe look-ups of them will find nothing.
async fn register(http: &reqwest::Client, api: Option<&str>, sample: &Sample) {
    let ids: Vec<&str> = sample
        .objects
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    let why = match api.map(|api| api.trim_end_matches('/')) {
        None | Some("") => {
            "no STRIPE_API_BASE (or --api) is set, so there is no emulator to register them with"
                .to_owned()
        }
        Some(api) if api.contains("api.stripe.com") => {
            format!("{api} is Stripe itself, which has no such objects and cannot be given them")
        }
        Some(api) => {
            let url = format!("{api}/_emulator/objects");
            match http.post(&url).json(&sample.objects).send().await {
                Ok(r) if r.status().is_success() => {
                    eprintln!(
                        "registered {} object(s) with the emulator at {api}: {}",
                        ids.len(),
                        ids.join(", ")
                    );
                    return;
                }
                Ok(r) => format!(
                    "{url} answered {} (is {api} the Checkout emulator?)",
                    r.status()
                ),
                Err(e) => format!("{url} could not be reached: {}", chain(&e)),
            }
        }
    };
    eprintln!(
        "warning: the objects this event refers to ({}) exist nowhere: {why}. The service's Stripe look-ups of \
         them will fail, so an event that needs one (e.g. a dispute, which carries no order id) will be reported \
         unusable. Point STRIPE_API_BASE at the emulator (crates/stripe-standin) to avoid this.",
        ids.join(", ")
    );
}

fn first_endpoint_secret() -> Option<String> {
    let secrets = std::env::var("STRIPE_ENDPOINT_SECRET").ok()?;
    secrets
        .split(',')
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map(str::to_owned)
}
