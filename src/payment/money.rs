//! Money: a currency Stripe supports and the exact conversion of a JSON price into Stripe's minor units.
//!
//! The price arrives as the JSON number's own text and goes through `rust_decimal`, never `f64`, so `20.5` is
//! exactly 2050 cents; a price with more decimals than its currency has is refused rather than rounded, and so
//! is an amount Stripe would refuse (`stripe_wire::check_unit_amount`).

use rust_decimal::Decimal;
use stripe_wire::AmountRule;

/// A currency Stripe supports, and its number of decimals in Stripe's API (the table is `stripe-wire`'s, shared
/// with the Stripe stand-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency(stripe_wire::Currency);

impl Currency {
    /// Accepts a code Stripe supports, in any case; `None` for anything else (`abc`, `xxx`), so a caller gets a
    /// `400` naming the currency instead of Stripe's refusal.
    pub fn parse(code: &str) -> Option<Currency> {
        stripe_wire::Currency::lookup(code).map(Currency)
    }

    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    pub fn exponent(&self) -> u32 {
        self.0.exponent()
    }

    /// Why a number's text does not fit a `Decimal` exactly: too big, too many decimals, or not a number.
    fn unrepresentable(&self, price: &str) -> AmountError {
        let is_number = price.bytes().any(|b| b.is_ascii_digit())
            && price
                .bytes()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
        if !is_number {
            return AmountError::NotANumber;
        }
        if price.starts_with('-') {
            return AmountError::NotPositive;
        }
        let (mantissa, exp) = price.split_once(['e', 'E']).unwrap_or((price, "0"));
        let exp: i64 = exp.parse().unwrap_or(0);
        let int_part = mantissa.split('.').next().unwrap_or("");
        let int_digits = int_part.trim_start_matches(['+', '0']).len() as i64;
        if int_digits.saturating_add(exp) > 15 {
            AmountError::TooLarge
        } else {
            AmountError::TooManyDecimals(self.exponent())
        }
    }

    /// Converts a price in major units, given as the JSON number's text, to minor units.
    pub fn to_minor_units(&self, price: &str) -> Result<i64, AmountError> {
        let parsed = if price.contains(['e', 'E']) {
            Decimal::from_scientific(price)
        } else {
            // `from_str` would round past 28 digits; `from_str_exact` refuses instead.
            Decimal::from_str_exact(price)
        };
        let value = parsed.map_err(|_| self.unrepresentable(price))?;
        if value <= Decimal::ZERO {
            return Err(AmountError::NotPositive);
        }
        let value = value.normalize();
        let exponent = self.exponent();
        if value.scale() > exponent {
            return Err(AmountError::TooManyDecimals(exponent));
        }
        let minor = value
            .checked_mul(Decimal::from(10_i64.pow(exponent)))
            .ok_or(AmountError::TooLarge)?;
        let minor = i64::try_from(minor).map_err(|_| AmountError::TooLarge)?;
        // Stripe's own rules (three-decimal amounts end in 0, whole ISK, the maximum), before Stripe sees it.
        stripe_wire::check_unit_amount(self.0, minor)?;
        Ok(minor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("must be a positive number")]
    NotANumber,
    #[error("must be a positive number")]
    NotPositive,
    #[error("has more decimals than the currency allows ({0})")]
    TooManyDecimals(u32),
    #[error("is too large")]
    TooLarge,
    /// Converted exactly, but Stripe would refuse the amount.
    #[error(transparent)]
    Stripe(#[from] AmountRule),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minor(code: &str, price: &str) -> Result<i64, AmountError> {
        Currency::parse(code).unwrap().to_minor_units(price)
    }

    #[test]
    fn exact_minor_units_per_exponent() {
        assert_eq!(minor("usd", "20.5"), Ok(2050));
        assert_eq!(minor("USD", "0.1"), Ok(10));
        assert_eq!(minor("usd", "19.99"), Ok(1999));
        assert_eq!(minor("jpy", "1000"), Ok(1000));
        assert_eq!(minor("kwd", "1.23"), Ok(1230));
        assert_eq!(minor("bhd", "0.01"), Ok(10));
        assert_eq!(
            minor("isk", "5"),
            Ok(500),
            "ISK is two-decimal in Stripe's API"
        );
        assert_eq!(minor("usd", "999999.99"), Ok(99_999_999));
        assert_eq!(minor("usd", "2.05e1"), Ok(2050));
        assert_eq!(
            minor("usd", "20.500"),
            Ok(2050),
            "trailing zeros are not extra decimals"
        );
    }

    #[test]
    fn too_many_decimals_is_refused_not_rounded() {
        assert_eq!(minor("usd", "20.555"), Err(AmountError::TooManyDecimals(2)));
        assert_eq!(minor("jpy", "1000.5"), Err(AmountError::TooManyDecimals(0)));
        assert_eq!(minor("kwd", "1.2345"), Err(AmountError::TooManyDecimals(3)));
        // The classic binary-float trap: 0.1 + 0.2 style values stay exact.
        assert_eq!(
            minor("usd", "0.30000000000000004"),
            Err(AmountError::TooManyDecimals(2))
        );
    }

    #[test]
    fn stripe_amount_rules_are_checked_after_exact_conversion() {
        assert_eq!(
            minor("kwd", "1.234"),
            Err(AmountError::Stripe(AmountRule::LastDigitNotZero("kwd")))
        );
        assert_eq!(minor("kwd", "1.230"), Ok(1230));
        assert_eq!(
            minor("isk", "5.5"),
            Err(AmountError::Stripe(AmountRule::NotWholeUnits("isk")))
        );
        assert!(matches!(
            minor("usd", "1000000"),
            Err(AmountError::Stripe(AmountRule::AboveMaximum(_)))
        ));
        assert!(matches!(
            minor("jpy", "100000000"),
            Err(AmountError::Stripe(AmountRule::AboveMaximum(_)))
        ));
        assert_eq!(minor("jpy", "99999999"), Ok(99_999_999));
    }

    #[test]
    fn non_positive_and_huge_are_refused() {
        assert_eq!(minor("usd", "0"), Err(AmountError::NotPositive));
        assert_eq!(minor("usd", "-1"), Err(AmountError::NotPositive));
        assert_eq!(minor("usd", "1e30"), Err(AmountError::TooLarge));
        assert_eq!(minor("usd", "abc"), Err(AmountError::NotANumber));
        assert_eq!(
            minor("usd", "99999999999999999999999999999999"),
            Err(AmountError::TooLarge)
        );
        assert_eq!(minor("usd", "1e-40"), Err(AmountError::TooManyDecimals(2)));
        // Past 28 digits rust_decimal would round; it must be refused, not become 2050.
        assert_eq!(
            minor("usd", "20.5000000000000000000000000001"),
            Err(AmountError::TooManyDecimals(2))
        );
        assert_eq!(
            minor("usd", "0.000000000000000000000000000000001"),
            Err(AmountError::TooManyDecimals(2))
        );
    }

    #[test]
    fn currency_codes() {
        assert!(Currency::parse("usd").is_some());
        assert_eq!(Currency::parse("EUR").unwrap().code(), "eur");
        assert!(Currency::parse("us").is_none());
        assert!(Currency::parse("usdd").is_none());
        assert!(Currency::parse("u5d").is_none());
        assert!(
            Currency::parse("abc").is_none(),
            "three letters Stripe does not support"
        );
        assert!(Currency::parse("xxx").is_none(), "ISO's 'no currency'");
        assert_eq!(Currency::parse("KWD").unwrap().exponent(), 3);
    }
}
