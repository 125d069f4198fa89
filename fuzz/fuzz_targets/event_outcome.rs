//! `cargo fuzz run event_outcome`: from any bytes an authentic webhook could carry to what the service would
//! publish, nothing panics: parsing, the event → outcome mapping, the lifecycle rules over a few histories, and the
//! message bodies. CI runs it for a short time (`scripts/fuzz.sh`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use payments::payment::{
    lifecycle::{decide, History, Verdict},
    outcome::{plan, Plan, Receipt},
};

fuzz_target!(|data: &[u8]| {
    let Ok(event) = payments::stripe::event::parse(data) else {
        return;
    };
    let _ = payments::stripe::event::header_safe(&event.id);
    let Plan::Report(report) = plan(&event) else {
        return;
    };
    let order = report.order_id.clone().unwrap_or_default();
    let mut payment = report.payment.clone();
    let mut history = History::default();
    // Decide twice: on an empty history, then on the history the first decision left.
    for _ in 0..2 {
        match decide(&history, &order, &payment, &report.news) {
            Verdict::Publish(outcomes) => {
                for outcome in &outcomes {
                    let _ = outcome.message.to_json();
                    let _ = outcome.message.subject();
                }
                history.record(&payment, &outcomes);
            }
            Verdict::NeedReceipt => {
                payment.receipt = Some(Receipt {
                    charge_id: "ch_fuzz".into(),
                    receipt_url: "https://pay.stripe.com/receipts/fuzz".into(),
                });
            }
            Verdict::Duplicate(_) | Verdict::Superseded(_) => {}
        }
    }
});
