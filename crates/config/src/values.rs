//! The value forms every section shares: durations (`"90s"`, `"1h30m"`, seconds) and byte
//! sizes (`"512MiB"`, bytes), with [`ValueError`] saying what a bad one should look like.

use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// Longest duration a setting takes (ten years): longer ones are surely a typo, and would
/// overflow the arithmetic on instants.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 86_400);

/// Why a duration or size is not one. The message quotes the input and shows the right form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// Not a duration at all.
    #[error("{0:?} is not a duration (use e.g. \"250ms\", \"30s\", \"5m\", \"1h\", \"7d\")")]
    NotADuration(String),
    /// Longer than [`MAX_DURATION`].
    #[error("{0:?} is too long (at most 3650d)")]
    TooLong(String),
    /// Not a size, or one too large to count in bytes.
    #[error("{0:?} is not a size (use e.g. \"512MiB\", \"4GiB\", or bytes)")]
    NotASize(String),
}

/// A duration written as `"90s"`, `"5m"`, `"1h30m"`, `"7d"`, `"250ms"` or a number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a duration such as \"30s\", \"5m\", \"1h\", \"7d\" or seconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                let secs =
                    u64::try_from(v).map_err(|_| E::custom("a duration cannot be negative"))?;
                let d = Duration::from_secs(secs);
                if d > MAX_DURATION {
                    return Err(E::custom(format!(
                        "{secs} seconds is too long (at most 3650d)"
                    )));
                }
                Ok(Dur(d))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Deserialises a [`Duration`] field written as a [`Dur`] (for sections read with
/// `#[serde(default)]`).
pub(super) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    Dur::deserialize(d).map(|d| d.0)
}

/// A value a setting must not be zero of: a limit or budget of zero would refuse every request
/// or stall every load, so it is an error at its line, not a silent clamp.
pub(super) trait Zero {
    /// Whether this is zero.
    fn is_zero(&self) -> bool;
}

impl Zero for usize {
    fn is_zero(&self) -> bool {
        *self == 0
    }
}

impl Zero for u32 {
    fn is_zero(&self) -> bool {
        *self == 0
    }
}

impl Zero for Dur {
    fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

impl Zero for ByteSize {
    fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

/// Deserialises a value that must be greater than zero (for `deserialize_with`); `key` names
/// the setting in the error, which toml reports at the value's line and column.
pub(super) fn above_zero<'de, T, D>(d: D, key: &str) -> Result<T, D::Error>
where
    T: Deserialize<'de> + Zero,
    D: Deserializer<'de>,
{
    let v = T::deserialize(d)?;
    if v.is_zero() {
        return Err(de::Error::custom(format!(
            "{key} must be greater than zero"
        )));
    }
    Ok(v)
}

/// Deserialises a rate: a finite number greater than zero; `key` names the setting in the
/// error.
pub(super) fn rate<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<f64, D::Error> {
    let r = f64::deserialize(d)?;
    if !(r.is_finite() && r > 0.0) {
        return Err(de::Error::custom(format!(
            "{key} must be a number greater than zero"
        )));
    }
    Ok(r)
}

/// Parses `"250ms"`, `"30s"`, `"5m"`, `"1h30m"`, `"7d"`, `"0"`.
///
/// # Errors
/// [`ValueError::NotADuration`] or [`ValueError::TooLong`], quoting the input.
pub fn parse_duration(s: &str) -> Result<Duration, ValueError> {
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let bad = || ValueError::NotADuration(s.to_owned());
    let mut total = Duration::ZERO;
    let mut rest = t;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest
            .get(..digits)
            .and_then(|d| d.parse().ok())
            .ok_or_else(bad)?;
        rest = rest.get(digits..).unwrap_or("");
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = rest.get(..unit_len).unwrap_or("");
        rest = rest.get(unit_len..).unwrap_or("");
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86_400)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(part);
    }
    if total > MAX_DURATION {
        return Err(ValueError::TooLong(s.to_owned()));
    }
    Ok(total)
}

/// A byte size written as `"512MiB"`, `"4GiB"`, `"64KiB"`, `"1000"` or a number of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a size such as \"512MiB\", \"4GiB\" or a number of bytes")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                parse_byte_size(v).map(ByteSize).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses `"512MiB"`, `"4GiB"`, `"64KiB"`, `"10MB"`, `"1000"`.
///
/// # Errors
/// [`ValueError::NotASize`], quoting the input.
pub fn parse_byte_size(s: &str) -> Result<u64, ValueError> {
    let t = s.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let bad = || ValueError::NotASize(s.to_owned());
    let n: u64 = t
        .get(..digits)
        .and_then(|d| d.parse().ok())
        .ok_or_else(bad)?;
    let mult: u64 = match t.get(digits..).unwrap_or("").trim() {
        "" | "B" => 1,
        "KiB" | "K" | "k" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        "TiB" | "T" => 1 << 40,
        "KB" | "kB" => 1000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}
