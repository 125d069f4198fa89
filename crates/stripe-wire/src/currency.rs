//! The currencies Stripe supports for charges (its presentment currencies), each with the number of decimals
//! Stripe's API uses for it, and the special cases that change which amounts Stripe accepts.
//!
//! Source: Stripe's "Supported currencies" page (presentment currencies, zero-decimal and three-decimal lists,
//! special cases). Codes are lower-case ISO 4217, as Stripe's API writes them. When Stripe adds a currency,
//! add it to [`SUPPORTED`] (and to [`ZERO_DECIMAL`] or [`THREE_DECIMAL`] if it is one of those).

/// Every presentment currency, sorted (looked up by binary search).
const SUPPORTED: &[&str] = &[
    "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt",
    "bgn", "bhd", "bif", "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf",
    "chf", "clp", "cny", "cop", "crc", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "etb",
    "eur", "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "htg",
    "huf", "idr", "ils", "inr", "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr", "kmf", "krw",
    "kwd", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk",
    "mnt", "mop", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr",
    "nzd", "omr", "pab", "pen", "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub",
    "rwf", "sar", "sbd", "scr", "sek", "sgd", "shp", "sle", "sll", "sos", "srd", "std", "szl",
    "thb", "tjs", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "usd", "uyu", "uzs",
    "vnd", "vuv", "wst", "xaf", "xcd", "xcg", "xof", "xpf", "yer", "zar", "zmw",
];

/// Currencies whose API amount is in major units (Stripe's zero-decimal list).
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// Currencies with three decimals in the API; Stripe accepts only amounts ending in 0 for them.
const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

/// A currency's special case for charges, beyond its number of decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// Amounts follow the decimals only.
    None,
    /// Three-decimal: Stripe's payment partners need the last digit to be 0 (`1.234 kwd` is refused).
    LastDigitZero,
    /// ISK: two decimals in the API, but since April 2023 only whole króna (multiples of 100) are charged.
    WholeUnitsOnly,
}

/// A currency Stripe supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    code: &'static str,
    exponent: u32,
    special: Special,
}

impl Currency {
    /// The currency of a code in any case, or `None` when Stripe does not support it (`abc`, `xxx`).
    pub fn lookup(code: &str) -> Option<Currency> {
        if code.len() != 3 || !code.is_ascii() {
            return None;
        }
        let lower = code.to_ascii_lowercase();
        let code = SUPPORTED[SUPPORTED.binary_search(&lower.as_str()).ok()?];
        let (exponent, special) = if ZERO_DECIMAL.contains(&code) {
            (0, Special::None)
        } else if THREE_DECIMAL.contains(&code) {
            (3, Special::LastDigitZero)
        } else if code == "isk" {
            (2, Special::WholeUnitsOnly)
        } else {
            (2, Special::None)
        };
        Some(Currency {
            code,
            exponent,
            special,
        })
    }

    /// Every currency Stripe supports.
    pub fn all() -> impl Iterator<Item = Currency> {
        SUPPORTED.iter().filter_map(|code| Currency::lookup(code))
    }

    /// The lower-case ISO 4217 code, as Stripe's API writes it.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Decimals of the API's minor unit: 0, 2 or 3.
    pub fn exponent(&self) -> u32 {
        self.exponent
    }

    pub fn special(&self) -> Special {
        self.special
    }

    /// `minor` units as the major-unit decimal text Stripe's pages show: `4100` usd is `41.00`, `1000` jpy is
    /// `1000`, `1230` kwd is `1.230`.
    pub fn format_major(&self, minor: i64) -> String {
        if self.exponent == 0 {
            return minor.to_string();
        }
        let unit = 10u64.pow(self.exponent);
        let sign = if minor < 0 { "-" } else { "" };
        let (major, fraction) = (minor.unsigned_abs() / unit, minor.unsigned_abs() % unit);
        format!(
            "{sign}{major}.{fraction:0width$}",
            width = self.exponent as usize
        )
    }

    /// The multiple every amount in minor units must be: 10 for three-decimal currencies, 100 for ISK, else 1.
    pub fn minor_step(&self) -> i64 {
        match self.special {
            Special::None => 1,
            Special::LastDigitZero => 10,
            Special::WholeUnitsOnly => 100,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_unique_and_consistent() {
        assert!(
            SUPPORTED.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicate"
        );
        assert!(SUPPORTED
            .iter()
            .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_lowercase())));
        for code in ZERO_DECIMAL.iter().chain(THREE_DECIMAL) {
            assert!(SUPPORTED.contains(code), "{code} is in the supported list");
        }
        assert_eq!(Currency::all().count(), SUPPORTED.len());
        assert!(
            SUPPORTED.len() > 135,
            "Stripe supports more than 135 currencies"
        );
    }

    #[test]
    fn decimals_and_special_cases() {
        let get = |code| Currency::lookup(code).unwrap();
        assert_eq!((get("usd").exponent(), get("usd").minor_step()), (2, 1));
        assert_eq!(get("USD").code(), "usd");
        assert_eq!((get("jpy").exponent(), get("jpy").minor_step()), (0, 1));
        assert_eq!((get("ugx").exponent(), get("ugx").minor_step()), (0, 1));
        assert_eq!((get("kwd").exponent(), get("kwd").minor_step()), (3, 10));
        assert_eq!((get("isk").exponent(), get("isk").minor_step()), (2, 100));
        // HUF and TWD are two-decimal for charges; their special case concerns payouts only.
        assert_eq!((get("huf").exponent(), get("huf").minor_step()), (2, 1));
        assert_eq!((get("twd").exponent(), get("twd").minor_step()), (2, 1));
    }

    #[test]
    fn major_units_are_formatted_with_the_currency_decimals() {
        let get = |code| Currency::lookup(code).unwrap();
        assert_eq!(get("usd").format_major(4100), "41.00");
        assert_eq!(get("eur").format_major(5), "0.05");
        assert_eq!(get("usd").format_major(-5), "-0.05");
        assert_eq!(get("jpy").format_major(1000), "1000");
        assert_eq!(get("kwd").format_major(1234), "1.234");
        assert_eq!(get("isk").format_major(500), "5.00");
    }

    #[test]
    fn unsupported_codes_are_none() {
        for code in ["abc", "xxx", "xts", "us", "usdd", "u5d", "", "üsd", "hrk"] {
            assert_eq!(Currency::lookup(code), None, "{code}");
        }
    }
}
