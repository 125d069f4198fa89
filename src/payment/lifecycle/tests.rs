use proptest::prelude::*;

use super::*;
use crate::payment::outcome::{outcome_id, Message, Receipt};

const ORDER: &str = "o-1";

fn receipt(charge: &str) -> Option<Receipt> {
    Some(Receipt {
        charge_id: charge.into(),
        receipt_url: format!("https://pay.stripe.com/receipts/{charge}"),
    })
}

fn payment(intent: Option<&str>, session: Option<&str>, charge: Option<&str>) -> Payment {
    Payment {
        intent: intent.map(Into::into),
        session: session.map(Into::into),
        receipt: charge.and_then(receipt),
    }
}

fn outcome(id: String, message: Message) -> News {
    News::Outcome(Outcome { id, message })
}

fn attempt_failed(intent: &str, event: &str) -> (Payment, News) {
    let message = Message::AttemptFailed {
        order_id: ORDER.into(),
        stripe_payment_id: intent.into(),
        reason: "Your card was declined.".into(),
    };
    let id = outcome_id("attempt_failed", &[intent, event]);
    (payment(Some(intent), None, None), outcome(id, message))
}

fn expired(session: &str, intent: Option<&str>) -> (Payment, News) {
    let message = Message::Expired {
        order_id: ORDER.into(),
        session_id: session.into(),
    };
    let id = outcome_id("expired", &[session]);
    (payment(intent, Some(session), None), outcome(id, message))
}

fn failed(session: &str, intent: &str) -> (Payment, News) {
    let message = Message::Failed {
        order_id: ORDER.into(),
        stripe_payment_id: intent.into(),
        reason: "the delayed payment failed".into(),
    };
    let id = outcome_id("failed", &[intent]);
    (
        payment(Some(intent), Some(session), None),
        outcome(id, message),
    )
}

fn refunded(intent: &str, charge: &str, amount: i64) -> (Payment, News) {
    let message = Message::Refunded {
        order_id: ORDER.into(),
        stripe_payment_id: charge.into(),
        amount_refunded: amount,
        currency: "usd".into(),
        fully_refunded: false,
    };
    let id = outcome_id("refunded", &[charge, &amount.to_string()]);
    (
        payment(Some(intent), None, Some(charge)),
        outcome(id, message),
    )
}

fn disputed(intent: &str, charge: &str, closed: bool) -> (Payment, News) {
    let opened = Outcome {
        id: outcome_id("disputed", &["du_1"]),
        message: Message::Disputed {
            order_id: ORDER.into(),
            stripe_payment_id: charge.into(),
            dispute_id: "du_1".into(),
            amount: 2050,
            currency: "usd".into(),
            reason: "fraudulent".into(),
        },
    };
    let news = if closed {
        let then = Outcome {
            id: outcome_id("dispute_closed", &["du_1"]),
            message: Message::DisputeClosed {
                order_id: ORDER.into(),
                stripe_payment_id: charge.into(),
                dispute_id: "du_1".into(),
                status: "lost".into(),
            },
        };
        News::Follows {
            first: opened,
            then,
        }
    } else {
        News::Outcome(opened)
    };
    // A dispute's charge was looked up: its receipt is known.
    (payment(Some(intent), None, Some(charge)), news)
}

/// Plays events through the rules as the journal does (one at a time per order); what is published, in order.
/// A `NeedReceipt` is answered as the processor does, from the Stripe API (here: the charge named `ch_<intent>`).
fn play(events: &[(Payment, News)]) -> Vec<Outcome> {
    let mut history = History::default();
    let mut published = Vec::new();
    for (payment, news) in events {
        let mut payment = payment.clone();
        loop {
            match decide(&history, ORDER, &payment, news) {
                Verdict::Publish(outcomes) => {
                    history.record(&payment, &outcomes);
                    published.extend(outcomes);
                }
                Verdict::NeedReceipt => {
                    let charge = format!("ch_{}", payment.intent.as_deref().unwrap());
                    payment.receipt = receipt(&charge);
                    continue;
                }
                Verdict::Duplicate(_) | Verdict::Superseded(_) => {}
            }
            break;
        }
    }
    published
}

/// The guarantees of CONTRACT §5 over one order's published messages.
fn check_truthful(published: &[Outcome]) {
    let ids: Vec<&str> = published.iter().map(|o| o.id.as_str()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "published twice: {ids:?}");
    let first_paid = published
        .iter()
        .position(|o| o.message.meaning() == Meaning::Paid);
    for (i, o) in published.iter().enumerate() {
        match o.message.meaning() {
            Meaning::Unpaid { .. } => assert!(
                first_paid.is_none_or(|paid| i < paid),
                "unpaid after paid: {ids:?}"
            ),
            Meaning::AfterPayment => assert!(
                first_paid.is_some_and(|paid| paid < i),
                "refund or dispute before succeeded: {ids:?}"
            ),
            Meaning::Paid => {}
        }
    }
    let opened = published.iter().position(|o| o.id.starts_with("disputed."));
    let closed = published
        .iter()
        .position(|o| o.id.starts_with("dispute_closed."));
    if let Some(closed) = closed {
        assert!(
            opened.is_some_and(|o| o < closed),
            "closed before opened: {ids:?}"
        );
    }
}

use crate::payment::outcome::Meaning;

#[test]
fn decline_then_pay_reports_the_attempt_then_the_success() {
    let published = play(&[
        attempt_failed("pi_1", "evt_1"),
        (payment(Some("pi_1"), None, Some("ch_1")), News::Succeeded),
        (payment(Some("pi_1"), Some("cs_1"), None), News::Succeeded),
    ]);
    let subjects: Vec<_> = published.iter().map(|o| o.message.subject()).collect();
    assert_eq!(subjects, ["payment.attempt_failed", "payment.succeeded"]);
}

#[test]
fn a_late_decline_or_expiry_is_superseded_by_the_payment() {
    let mut history = History::default();
    let paid = payment(Some("pi_2"), Some("cs_2"), Some("ch_2"));
    let Verdict::Publish(outcomes) = decide(&history, ORDER, &paid, &News::Succeeded) else {
        panic!()
    };
    history.record(&paid, &outcomes);
    let (p, late) = attempt_failed("pi_2", "evt_9");
    assert_eq!(
        decide(&history, ORDER, &p, &late),
        Verdict::Superseded(Superseded::OrderPaid)
    );
    let (p, old_session) = expired("cs_1", None);
    assert_eq!(
        decide(&history, ORDER, &p, &old_session),
        Verdict::Superseded(Superseded::OrderPaid)
    );
}

#[test]
fn one_final_per_session() {
    let mut history = History::default();
    let (p, fail) = failed("cs_1", "pi_1");
    let Verdict::Publish(outcomes) = decide(&history, ORDER, &p, &fail) else {
        panic!()
    };
    history.record(&p, &outcomes);
    let (p, expiry) = expired("cs_1", Some("pi_1"));
    assert_eq!(
        decide(&history, ORDER, &p, &expiry),
        Verdict::Superseded(Superseded::SessionFinal)
    );
    let paid = payment(Some("pi_1"), None, Some("ch_1"));
    assert_eq!(
        decide(&history, ORDER, &paid, &News::Succeeded),
        Verdict::Superseded(Superseded::SessionFinal)
    );
}

#[test]
fn a_refund_first_publishes_the_success_first() {
    let published = play(&[refunded("pi_1", "ch_1", 500)]);
    let subjects: Vec<_> = published.iter().map(|o| o.message.subject()).collect();
    assert_eq!(subjects, ["payment.succeeded", "payment.refunded"]);
    let Message::Succeeded {
        stripe_payment_id, ..
    } = &published[0].message
    else {
        panic!()
    };
    assert_eq!(stripe_payment_id, "ch_1");
}

#[test]
fn a_success_without_its_charge_asks_for_it() {
    let session_only = payment(Some("pi_1"), Some("cs_1"), None);
    assert_eq!(
        decide(&History::default(), ORDER, &session_only, &News::Succeeded),
        Verdict::NeedReceipt
    );
}

/// The events of a few realistic payments of one order: two sessions (the first expires), a declined attempt
/// in the second, the payment, a partial and a full refund, a dispute opened and closed.
fn order_events() -> Vec<(Payment, News)> {
    vec![
        expired("cs_1", None),
        attempt_failed("pi_2", "evt_a"),
        attempt_failed("pi_2", "evt_b"),
        (payment(Some("pi_2"), None, Some("ch_2")), News::Succeeded),
        (payment(Some("pi_2"), None, None), News::Succeeded),
        (payment(Some("pi_2"), Some("cs_2"), None), News::Succeeded),
        refunded("pi_2", "ch_2", 500),
        refunded("pi_2", "ch_2", 2050),
        disputed("pi_2", "ch_2", false),
        disputed("pi_2", "ch_2", true),
    ]
}

/// A delayed payment that fails: the decline, then the session's final failure.
fn failing_events() -> Vec<(Payment, News)> {
    vec![
        attempt_failed("pi_3", "evt_c"),
        failed("cs_3", "pi_3"),
        expired("cs_3", Some("pi_3")),
    ]
}

proptest! {
    #[test]
    fn any_order_and_any_repetition_tells_the_truth(
        picks in proptest::collection::vec(0usize..10, 1..30),
        failing in proptest::collection::vec(0usize..3, 0..8),
    ) {
        let events = order_events();
        let played: Vec<_> = picks.iter().map(|&i| events[i].clone()).collect();
        let published = play(&played);
        check_truthful(&published);
        // Each success-bearing event publishes the payment once, whatever came first.
        let paid = published.iter().filter(|o| o.message.meaning() == Meaning::Paid).count();
        let any_paying = picks.iter().any(|&i| i >= 3);
        prop_assert_eq!(paid, usize::from(any_paying));

        let events = failing_events();
        let played: Vec<_> = failing.iter().map(|&i| events[i].clone()).collect();
        let published = play(&played);
        check_truthful(&published);
        let finals = published.iter().filter(|o| o.message.meaning() == (Meaning::Unpaid { final_: true })).count();
        prop_assert!(finals <= 1, "two finals for one session: {:?}", published);
    }
}
