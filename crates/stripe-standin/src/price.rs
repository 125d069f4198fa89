//! Money as a customer reads it on the hosted pages, the way a browser's `Intl.NumberFormat("en-US", {style:
//! "currency"})` writes it: the currency's symbol where English has one (`$1,234.50`, `€9.90`, `¥1,000`), else its
//! code and a no-break space (`KWD 1.230`, `CHF 10.00`), thousands separated by commas, and the currency's own
//! number of decimals. The browser test compares these strings with Chromium's `Intl` output.

/// Symbols of `en-US` (CLDR) that have been stable across ICU versions; any other currency is shown by its code,
/// as `Intl` does for most of them.
const SYMBOLS: &[(&str, &str)] = &[
    ("aud", "A$"),
    ("brl", "R$"),
    ("cad", "CA$"),
    ("cny", "CN¥"),
    ("eur", "€"),
    ("gbp", "£"),
    ("hkd", "HK$"),
    ("ils", "₪"),
    ("inr", "₹"),
    ("jpy", "¥"),
    ("krw", "₩"),
    ("mxn", "MX$"),
    ("nzd", "NZ$"),
    ("twd", "NT$"),
    ("usd", "$"),
    ("vnd", "₫"),
];

/// `amount` in minor units of `currency`, which Stripe's API counts with `api_decimals` decimals.
pub(crate) fn format(amount: i64, currency: &str, api_decimals: u32) -> String {
    let currency = currency.to_ascii_lowercase();
    // Stripe counts the Icelandic króna in hundredths but charges whole krónur only; people read it without
    // decimals, as ISO 4217 (and Intl) write it.
    let whole_units = stripe_wire::Currency::lookup(&currency)
        .is_some_and(|c| c.special() == stripe_wire::Special::WholeUnitsOnly);
    let (amount, decimals) = if whole_units && api_decimals == 2 {
        (amount / 100, 0)
    } else {
        (amount, api_decimals)
    };
    let unit = 10u64.pow(decimals);
    let (major, minor) = (amount.unsigned_abs() / unit, amount.unsigned_abs() % unit);
    let mut number = group_thousands(major);
    if decimals > 0 {
        number.push('.');
        number.push_str(&format!("{minor:0width$}", width = decimals as usize));
    }
    let sign = if amount < 0 { "-" } else { "" };
    match SYMBOLS.iter().find(|(code, _)| *code == currency) {
        Some((_, symbol)) => format!("{sign}{symbol}{number}"),
        None => format!("{sign}{}\u{a0}{number}", currency.to_ascii_uppercase()),
    }
}

/// `1234567` → `1,234,567`.
fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn symbols_separators_and_decimals_as_intl_en_us() {
        assert_eq!(format(4100, "usd", 2), "$41.00");
        assert_eq!(format(123_456_789, "usd", 2), "$1,234,567.89");
        assert_eq!(format(5, "eur", 2), "€0.05");
        assert_eq!(format(100_000, "gbp", 2), "£1,000.00");
        assert_eq!(format(1_000, "jpy", 0), "¥1,000");
        assert_eq!(format(999, "jpy", 0), "¥999");
        assert_eq!(format(2_469_120, "kwd", 3), "KWD\u{a0}2,469.120");
        assert_eq!(format(1_000, "chf", 2), "CHF\u{a0}10.00");
        assert_eq!(format(1_000_000, "cad", 2), "CA$10,000.00");
        assert_eq!(format(-500, "usd", 2), "-$5.00");
        assert_eq!(format(0, "usd", 2), "$0.00");
    }

    #[test]
    fn krona_is_read_in_whole_kronur() {
        assert_eq!(format(500_000, "isk", 2), "ISK\u{a0}5,000");
    }
}
