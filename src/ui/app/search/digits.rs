//! A query of decimal digits alone, looked for in an integer by arithmetic on the integer:
//! where its decimal digits (`{v}`) or its hex digits (`0x{v:x}`) hold the query, without
//! writing either out.

/// A query of decimal digits, as numbers to compare windows of an integer's digits with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Digits {
    /// How many digits the query has.
    len: u32,
    /// The digits read as a decimal number; `None` when more than a `u64` has.
    decimal: Option<u64>,
    /// Where a number's decimal digits end in the query's, for a query shorter than a
    /// `u64`'s twenty digits (of twenty, the number is the query).
    ends_in: Option<EndsIn>,
    /// The least number with as many decimal digits as the query (0 for one digit).
    least: u64,
    /// The digits read as hex digits (each 0-9, so the same nibbles); `None` when more
    /// than a `u64` has.
    nibbles: Option<u64>,
}

impl Digits {
    /// The query as digits; `None` unless it is decimal digits alone.
    pub(super) fn of(query: &str) -> Option<Digits> {
        if query.is_empty() || !query.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = query.bytes().map(|b| u64::from(b - b'0'));
        let len = query.len() as u32;
        let decimal =
            digits.clone().try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(d)).filter(|_| len <= MOST_DECIMAL);
        let ends_in = decimal.filter(|_| len < MOST_DECIMAL).map(|query| EndsIn::new(query, len));
        let least = if len == 1 { 0 } else { 10u64.checked_pow(len - 1).unwrap_or(u64::MAX) };
        let nibbles = (query.len() <= 16).then(|| digits.fold(0u64, |n, d| n << 4 | d));
        Some(Digits { len, decimal, ends_in, least, nibbles })
    }

    /// Whether an integer's row holds the query: `v` in decimal, or with `hex` the whole
    /// `{decimal} (0x{hex})`, where the only digit between the two is the `0` of `0x`.
    /// Inlined: a search asks it of every number of a gigabyte.
    #[inline(always)]
    pub(super) fn in_integer(&self, v: u64, hex: bool) -> bool {
        (hex && self.is_zero()) || self.in_decimal(v) || (hex && self.in_hex(v))
    }

    /// Whether the query is the single digit `0`.
    fn is_zero(&self) -> bool {
        self.len == 1 && self.decimal == Some(0)
    }

    /// Whether `v` written in decimal holds the query.
    #[inline(always)]
    fn in_decimal(&self, v: u64) -> bool {
        let Some(query) = self.decimal else { return false };
        // A window of `len` digits lies within the number while what is left of it has
        // at least `len` digits (0 has one): it is what that ends in.
        let mut rest = v;
        while rest >= self.least {
            if self.ends_in.map_or(rest == query, |ends_in| ends_in.holds(rest)) {
                return true;
            }
            if rest < 10 {
                return false;
            }
            rest /= 10;
        }
        false
    }

    /// Whether `v` written in hex digits (lowercase, no prefix) holds the query.
    #[inline(always)]
    fn in_hex(&self, v: u64) -> bool {
        let Some(query) = self.nibbles else { return false };
        let least = if self.len == 1 { 0 } else { 1u64 << (4 * (self.len - 1)) };
        let mask = u64::MAX >> (64 - 4 * self.len);
        let mut rest = v;
        while rest >= least {
            if rest & mask == query {
                return true;
            }
            if rest < 16 {
                return false;
            }
            rest >>= 4;
        }
        false
    }
}

/// The most decimal digits a `u64` has.
const MOST_DECIMAL: u32 = 20;

/// Whether a number ends in the decimal digits of a query of `len` digits, `x ≡ query
/// (mod 10^len)`, told without a division: `x - query` is then a multiple of `10^len =
/// 2^len · 5^len`, so its low `len` bits are zero, and what is above them is a multiple of
/// the odd `5^len`, which is when its product with the inverse of `5^len` (modulo 2^64)
/// is at most `(2^64 - 1) / 5^len`.
#[derive(Debug, Clone, Copy)]
struct EndsIn {
    query: u64,
    len: u32,
    inverse: u64,
    most: u64,
}

impl EndsIn {
    /// For `query` of `len` digits, fewer than [`MOST_DECIMAL`].
    fn new(query: u64, len: u32) -> EndsIn {
        let fives = 5u64.pow(len);
        // An odd number is its own inverse in its lowest three bits; each of Newton's
        // steps doubles the bits that are right (3, 6, 12, 24, 48, 96).
        let mut inverse = fives;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(fives.wrapping_mul(inverse)));
        }
        EndsIn { query, len, inverse, most: u64::MAX / fives }
    }

    /// Whether `x` ends in the query's digits.
    fn holds(&self, x: u64) -> bool {
        x.checked_sub(self.query)
            .is_some_and(|d| d.trailing_zeros() >= self.len && (d >> self.len).wrapping_mul(self.inverse) <= self.most)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// An integer with digits alike at times: runs of one digit, powers of ten and
    /// sixteen and their neighbours, as well as any.
    fn integer() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            0u64..1000,
            (0u32..20, 0u64..3).prop_map(|(e, d)| 10u64.pow(e).saturating_sub(d)),
            (1u32..16, 0u64..3).prop_map(|(e, d)| (1u64 << (4 * e)).saturating_sub(d)),
            Just(u64::MAX),
        ]
    }

    proptest! {
        #[test]
        fn a_query_is_in_an_integer_exactly_where_its_written_digits_hold_it(
            v in integer(),
            query in "[0-9]{1,3}|0[0-9]{0,4}|[0-9]{15,22}",
            from in 0usize..20,
        ) {
            // A query taken from the number's own digits half of the time.
            let written = [v.to_string(), format!("{v:x}")];
            let query = match from % 2 {
                0 => query,
                _ => {
                    let text = &written[from / 2 % 2];
                    let start = from % text.len();
                    let taken: String = text[start..].chars().take_while(char::is_ascii_digit).take(query.len()).collect();
                    if taken.is_empty() { query } else { taken }
                }
            };
            let digits = Digits::of(&query).unwrap();
            prop_assert_eq!(digits.in_decimal(v), written[0].contains(&query), "{} in {}", query, written[0]);
            prop_assert_eq!(digits.in_hex(v), written[1].contains(&query), "{} in {}", query, written[1]);
        }
    }

    #[test]
    fn only_decimal_digits_make_a_query_of_digits() {
        assert!(Digits::of("").is_none());
        assert!(Digits::of("12a").is_none());
        assert!(Digits::of(" 12").is_none());
        assert!(Digits::of("0").is_some_and(|d| d.is_zero()));
        assert!(Digits::of("00").is_some_and(|d| !d.is_zero()));
    }
}
