//! Money: a currency's minor-unit exponent and the exact conversion of a JSON price into Stripe's minor units.
//!
//! The price arrives as the JSON number's own text and goes through `rust_decimal`, never `f64`, so `20.5` is
//! exactly 2050 cents; a price with more decimals than its currency has is refused rather than rounded.

use rust_decimal::Decimal;

/// Currencies whose minor unit is the major unit (Stripe's zero-decimal list).
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];
/// Currencies with three decimals (Stripe's three-decimal list).
const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

/// A lower-case ISO 4217 code and its number of decimals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    code: String,
    exponent: u32,
}

impl Currency {
    /// Accepts any three ASCII letters, in any case. Stripe itself refuses currencies it does not support,
    /// and that refusal is passed on to the caller.
    pub fn parse(code: &str) -> Option<Currency> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return None;
        }
        let code = code.to_ascii_lowercase();
        let exponent = if ZERO_DECIMAL.contains(&code.as_str()) {
            0
        } else if THREE_DECIMAL.contains(&code.as_str()) {
            3
        } else {
            2
        };
        Some(Currency { code, exponent })
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn exponent(&self) -> u32 {
        self.exponent
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
            AmountError::TooManyDecimals(self.exponent)
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
        if value.scale() > self.exponent {
            return Err(AmountError::TooManyDecimals(self.exponent));
        }
        let minor = value
            .checked_mul(Decimal::from(10_i64.pow(self.exponent)))
            .ok_or(AmountError::TooLarge)?;
        i64::try_from(minor).map_err(|_| AmountError::TooLarge)
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
        assert_eq!(minor("kwd", "1.234"), Ok(1234));
        assert_eq!(minor("bhd", "0.001"), Ok(1));
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
    }
}
