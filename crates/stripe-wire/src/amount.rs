//! Stripe's rules for an amount in minor units, checked before Stripe is called so a caller gets a `400` that
//! names the price instead of Stripe's refusal as a `502`.

use crate::currency::{Currency, Special};

/// The largest unit amount Stripe accepts, in minor units (eight digits: 999,999.99 usd).
pub const MAX_UNIT_AMOUNT: i64 = 99_999_999;

/// The rule a unit amount breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountRule {
    #[error("must be positive")]
    NotPositive,
    /// Three-decimal currencies: the last digit must be 0.
    #[error("must be a multiple of 0.010 {0}: Stripe accepts {0} amounts whose last decimal is 0")]
    LastDigitNotZero(&'static str),
    /// ISK: whole króna only.
    #[error("must be a whole number of {0}: Stripe accepts no fraction of it")]
    NotWholeUnits(&'static str),
    #[error("is above Stripe's maximum unit amount of {} {}", .0.format_major(MAX_UNIT_AMOUNT), .0.code())]
    AboveMaximum(Currency),
}

/// Checks a unit amount in `currency`'s minor units against Stripe's rules.
pub fn check_unit_amount(currency: Currency, minor: i64) -> Result<(), AmountRule> {
    if minor <= 0 {
        return Err(AmountRule::NotPositive);
    }
    if minor > MAX_UNIT_AMOUNT {
        return Err(AmountRule::AboveMaximum(currency));
    }
    if minor % currency.minor_step() != 0 {
        return Err(match currency.special() {
            Special::WholeUnitsOnly => AmountRule::NotWholeUnits(currency.code()),
            Special::LastDigitZero | Special::None => AmountRule::LastDigitNotZero(currency.code()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(code: &str, minor: i64) -> Result<(), AmountRule> {
        check_unit_amount(Currency::lookup(code).unwrap(), minor)
    }

    #[test]
    fn three_decimal_amounts_end_in_zero() {
        assert_eq!(check("kwd", 1230), Ok(()));
        assert_eq!(check("kwd", 1234), Err(AmountRule::LastDigitNotZero("kwd")));
        assert_eq!(check("bhd", 1), Err(AmountRule::LastDigitNotZero("bhd")));
        assert_eq!(check("tnd", 10), Ok(()));
    }

    #[test]
    fn isk_is_whole_kronur() {
        assert_eq!(check("isk", 500), Ok(()));
        assert_eq!(check("isk", 550), Err(AmountRule::NotWholeUnits("isk")));
        assert_eq!(check("isk", 1), Err(AmountRule::NotWholeUnits("isk")));
    }

    #[test]
    fn the_maximum_and_positivity() {
        assert_eq!(check("usd", MAX_UNIT_AMOUNT), Ok(()));
        let above = check("usd", MAX_UNIT_AMOUNT + 1).unwrap_err();
        assert_eq!(
            above.to_string(),
            "is above Stripe's maximum unit amount of 999999.99 usd"
        );
        assert!(matches!(
            check("jpy", 100_000_000),
            Err(AmountRule::AboveMaximum(_))
        ));
        assert_eq!(check("usd", 0), Err(AmountRule::NotPositive));
        assert_eq!(check("usd", -5), Err(AmountRule::NotPositive));
        assert_eq!(check("usd", 1), Ok(()));
        assert_eq!(check("jpy", 1), Ok(()));
    }
}
