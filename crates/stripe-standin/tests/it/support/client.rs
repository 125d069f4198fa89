//! Helpers for tests that drive the stand-in with the real async-stripe client.

use std::collections::HashMap;

use stripe::{Client, ClientBuilder, StripeError};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, ProductData,
};
use stripe_checkout::CheckoutSessionMode;
use stripe_standin::StandIn;
use stripe_types::Currency;

use super::API_KEY;

pub fn client(standin: &StandIn) -> Client {
    ClientBuilder::new(API_KEY)
        .url(standin.base_url())
        .build()
        .unwrap()
}

pub fn order_metadata() -> HashMap<String, String> {
    HashMap::from([
        ("orderId".to_owned(), "ord_42".to_owned()),
        ("tenant".to_owned(), "acme".to_owned()),
    ])
}

pub fn t_shirts() -> CreateCheckoutSession {
    let mut price = CreateCheckoutSessionLineItemsPriceData::new(Currency::USD);
    price.product_data = Some(ProductData::new("T-Shirt"));
    price.unit_amount = Some(2050);
    let mut item = CreateCheckoutSessionLineItems::new();
    item.price_data = Some(price);
    item.quantity = Some(2);
    let mut pi_data = CreateCheckoutSessionPaymentIntentData::new();
    pi_data.metadata = Some(order_metadata());
    CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Payment)
        .line_items(vec![item])
        .success_url("https://shop.example/success")
        .cancel_url("https://shop.example/cancel")
        .client_reference_id("ord_42")
        .metadata(order_metadata())
        .payment_intent_data(pi_data)
}

pub fn api_error(
    result: Result<impl std::fmt::Debug, StripeError>,
) -> (Box<stripe::ApiErrors>, u16) {
    match result {
        Err(StripeError::Stripe(error, status)) => (error, status),
        other => panic!("expected a Stripe error, got {other:?}"),
    }
}
