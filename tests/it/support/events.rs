//! Builders of signed-ready Stripe events, derived from the shared fixtures.

use serde_json::{json, Map, Value};

use super::fixture;

pub struct Payment {
    pub order: String,
    pub intent: String,
    pub charge: String,
    pub session: String,
}

impl Payment {
    pub fn new(tag: &str) -> Payment {
        Payment {
            order: format!("order-{tag}"),
            intent: format!("pi_{tag}"),
            charge: format!("ch_{tag}"),
            session: format!("cs_test_{tag}"),
        }
    }

    pub fn receipt_url(&self) -> String {
        format!("https://pay.stripe.com/receipts/payment/{}", self.charge)
    }

    fn metadata(&self) -> Map<String, Value> {
        json!({"orderId": self.order}).as_object().unwrap().clone()
    }

    /// Registers the payment intent and charge with the stand-in, for events that need a look-up.
    pub fn register(&self, standin: &stripe_standin::StandIn) {
        use stripe_standin::objects;
        standin.insert_charge(objects::charge(
            &self.charge,
            &self.intent,
            &self.metadata(),
            &self.receipt_url(),
        ));
        standin.insert_payment_intent(objects::payment_intent(
            &self.intent,
            Some(&self.charge),
            &self.metadata(),
        ));
    }

    pub fn charge_succeeded(&self) -> String {
        envelope(
            "charge.succeeded",
            &format!("evt_ch_{}", self.charge),
            |o| {
                o["id"] = json!(self.charge);
                o["payment_intent"] = json!(self.intent);
                o["metadata"] = json!(self.metadata());
                o["receipt_url"] = json!(self.receipt_url());
            },
        )
    }

    pub fn intent_succeeded(&self) -> String {
        let intent = stripe_standin::objects::payment_intent(
            &self.intent,
            Some(&self.charge),
            &self.metadata(),
        );
        envelope(
            "payment_intent.succeeded",
            &format!("evt_pi_{}", self.intent),
            |o| *o = intent,
        )
    }

    pub fn session_event(&self, event_type: &str, paid: bool) -> String {
        let fixture_name = if paid {
            "checkout.session.completed.with_metadata"
        } else {
            "checkout.session.completed.unpaid"
        };
        let mut event = fixture(fixture_name);
        event["type"] = json!(event_type);
        event["id"] = json!(format!(
            "evt_{}_{}",
            event_type.replace('.', "_"),
            self.session
        ));
        let o = &mut event["data"]["object"];
        o["id"] = json!(self.session);
        o["payment_intent"] = json!(self.intent);
        o["metadata"] = json!(self.metadata());
        o["client_reference_id"] = json!(self.order);
        event.to_string()
    }

    pub fn refunded(&self, amount_refunded: i64, fully: bool) -> String {
        envelope(
            "charge.refunded",
            &format!("evt_rf_{}_{amount_refunded}", self.charge),
            |o| {
                *o = fixture("charge.refunded")["data"]["object"].clone();
                o["id"] = json!(self.charge);
                o["payment_intent"] = json!(self.intent);
                o["metadata"] = json!(self.metadata());
                o["amount"] = json!(2000);
                o["amount_captured"] = json!(2000);
                o["amount_refunded"] = json!(amount_refunded);
                o["refunded"] = json!(fully);
            },
        )
    }

    pub fn intent_failed(&self) -> String {
        envelope(
            "payment_intent.payment_failed",
            &format!("evt_pf_{}", self.intent),
            |o| {
                *o = stripe_standin::objects::payment_intent(&self.intent, None, &self.metadata());
                o["last_payment_error"] =
                    json!({"message": "Your card was declined.", "type": "card_error"});
            },
        )
    }

    /// A declined attempt (`n` tells attempts apart: each is its own event).
    pub fn attempt_failed(&self, n: u32) -> String {
        let mut event: Value = serde_json::from_str(&self.intent_failed()).unwrap();
        event["id"] = json!(format!("evt_pf{n}_{}", self.intent));
        event.to_string()
    }

    /// `charge.dispute.created` (or `.closed` with `status`): a dispute carries no metadata of ours.
    pub fn dispute(&self, closed_as: Option<&str>) -> String {
        let event_type = match closed_as {
            Some(_) => "charge.dispute.closed",
            None => "charge.dispute.created",
        };
        let id = format!("evt_{}_du_{}", event_type.replace('.', "_"), self.charge);
        envelope(event_type, &id, |o| {
            *o = json!({"id": format!("du_{}", self.charge), "object": "dispute", "amount": 2000,
                "currency": "usd", "charge": self.charge, "payment_intent": self.intent,
                "reason": "fraudulent", "status": closed_as.unwrap_or("needs_response"),
                "metadata": {}, "livemode": false, "is_charge_refundable": false});
        })
    }

    pub fn expired(&self) -> String {
        let mut event = fixture("checkout.session.expired");
        event["id"] = json!(format!("evt_ex_{}", self.session));
        event["data"]["object"]["id"] = json!(self.session);
        event["data"]["object"]["metadata"] = json!(self.metadata());
        event.to_string()
    }

    pub fn succeeded_body(&self) -> Value {
        json!({"stripePaymentId": self.charge, "orderId": self.order, "receiptUrl": self.receipt_url()})
    }
}

/// The charge fixture's envelope with another type, id and object.
pub fn envelope(event_type: &str, id: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut event = fixture("charge.succeeded");
    event["type"] = json!(event_type);
    event["id"] = json!(id);
    edit(&mut event["data"]["object"]);
    event.to_string()
}
