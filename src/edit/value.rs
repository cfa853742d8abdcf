//! Turning what a user types into wire bytes for a declared field: integers range-checked
//! against the declared type, floats, bools, enums by name or number, strings, and bytes as
//! hex. Anything else is refused with what is allowed.

use prost_reflect::Kind;

use crate::decode::schema::FieldInfo;
use crate::decode::wire::write_varint;

/// A value ready for the wire (without tag; `Len` without its length prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoded {
    /// A varint.
    Varint(u64),
    /// Four little-endian bytes.
    Fixed32(u32),
    /// Eight little-endian bytes.
    Fixed64(u64),
    /// Length-delimited content.
    Len(Vec<u8>),
}

impl Encoded {
    /// The value's bytes as they follow the tag (a `Len` without its prefix).
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Encoded::Varint(v) => {
                let mut out = Vec::new();
                write_varint(&mut out, *v);
                out
            }
            Encoded::Fixed32(v) => v.to_le_bytes().to_vec(),
            Encoded::Fixed64(v) => v.to_le_bytes().to_vec(),
            Encoded::Len(bytes) => bytes.clone(),
        }
    }
}

/// A value the field cannot hold, and what it can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a valid {type_name}: {allowed}")]
pub struct ValueError {
    /// What was typed.
    pub text: String,
    /// The declared type.
    pub type_name: String,
    /// What would be accepted.
    pub allowed: String,
}

/// Parses `text` as a value of `field` (a scalar, string or bytes field).
pub fn parse(field: &FieldInfo, text: &str) -> Result<Encoded, ValueError> {
    // A string is taken as typed, spaces included, so that what is applied is what the
    // edit script records (and replays); anything else may be padded.
    let exact = text;
    let text = text.trim();
    let err = |allowed: &str| ValueError {
        text: text.to_owned(),
        type_name: field.type_name.clone(),
        allowed: allowed.to_owned(),
    };
    let int = |min: i128, max: i128| -> Result<i128, ValueError> {
        let v = parse_int(text)
            .ok_or_else(|| err(&format!("an integer (decimal, 0x hex or 0b binary) from {min} to {max}")))?;
        if v < min || v > max {
            return Err(err(&format!("an integer from {min} to {max}")));
        }
        Ok(v)
    };
    Ok(match &field.kind {
        Kind::Int32 => Encoded::Varint(int(i32::MIN.into(), i32::MAX.into())? as i64 as u64),
        Kind::Int64 => Encoded::Varint(int(i64::MIN.into(), i64::MAX.into())? as i64 as u64),
        Kind::Uint32 => Encoded::Varint(int(0, u32::MAX.into())? as u64),
        Kind::Uint64 => Encoded::Varint(int(0, u64::MAX.into())? as u64),
        Kind::Sint32 => {
            let v = int(i32::MIN.into(), i32::MAX.into())? as i32;
            Encoded::Varint(u64::from(((v << 1) ^ (v >> 31)) as u32))
        }
        Kind::Sint64 => {
            let v = int(i64::MIN.into(), i64::MAX.into())? as i64;
            Encoded::Varint(((v << 1) ^ (v >> 63)) as u64)
        }
        Kind::Fixed32 => Encoded::Fixed32(int(0, u32::MAX.into())? as u32),
        Kind::Sfixed32 => Encoded::Fixed32(int(i32::MIN.into(), i32::MAX.into())? as i32 as u32),
        Kind::Fixed64 => Encoded::Fixed64(int(0, u64::MAX.into())? as u64),
        Kind::Sfixed64 => Encoded::Fixed64(int(i64::MIN.into(), i64::MAX.into())? as i64 as u64),
        Kind::Bool => match text {
            "true" | "1" => Encoded::Varint(1),
            "false" | "0" => Encoded::Varint(0),
            _ => return Err(err("true, false, 1 or 0")),
        },
        Kind::Float => {
            Encoded::Fixed32(parse_float(text).ok_or_else(|| err("a number (or inf, -inf, nan)"))?.to_bits())
        }
        Kind::Double => Encoded::Fixed64(
            parse_float(text)
                .map(f64::from)
                .or_else(|| text.parse::<f64>().ok())
                .ok_or_else(|| err("a number"))?
                .to_bits(),
        ),
        Kind::Enum(e) => {
            let by_name = e.get_value_by_name(text).map(|v| v.number());
            let by_number = parse_int(text).and_then(|n| i32::try_from(n).ok()).filter(|n| e.get_value(*n).is_some());
            match by_name.or(by_number) {
                Some(n) => Encoded::Varint(n as i64 as u64),
                None => {
                    let names: Vec<String> = e.values().map(|v| format!("{} ({})", v.name(), v.number())).collect();
                    return Err(err(&format!("one of {}", names.join(", "))));
                }
            }
        }
        Kind::String if text.starts_with('"') => Encoded::Len(unquote(text).map_err(|e| err(&e))?.into_bytes()),
        Kind::String => Encoded::Len(exact.as_bytes().to_vec()),
        Kind::Bytes => Encoded::Len(parse_hex(text).ok_or_else(|| err("hex digits, e.g. 0a0b0c (spaces allowed)"))?),
        Kind::Message(m) => {
            return Err(err(&format!("a field of {}: edit its fields one by one, or replace it raw", m.full_name())));
        }
    })
}

/// Decimal, `0x` hex or `0b` binary, optionally negative, with `_` separators.
pub fn parse_int(text: &str) -> Option<i128> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let (negative, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        i128::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i128::from_str_radix(bin, 2).ok()?
    } else {
        digits.parse::<i128>().ok()?
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn parse_float(text: &str) -> Option<f32> {
    match text {
        "inf" => Some(f32::INFINITY),
        "-inf" => Some(f32::NEG_INFINITY),
        "nan" => Some(f32::NAN),
        _ => text.parse().ok(),
    }
}

/// Hex digits, with optional spaces and an optional `0x`.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.trim_start_matches("0x").bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()).collect()
}

/// A string as typed: bare text as it is, or `"quoted"` with C escapes (`\n`, `\"`, `\\`,
/// `\xHH`, octal `\ooo`), as protobuf text format writes them.
pub fn unquote(text: &str) -> Result<String, String> {
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return Ok(text.to_owned());
    };
    let bytes = unescape(inner)?;
    String::from_utf8(bytes).map_err(|_| "valid UTF-8 (use set-raw for invalid strings)".to_owned())
}

/// C-style unescaping of the inside of a quoted string.
pub fn unescape(inner: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let esc = *bytes.get(i).ok_or("a complete escape at the end")?;
        i += 1;
        match esc {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'"' | b'\'' | b'\\' => out.push(esc),
            b'x' => {
                let hex = inner.get(i..i + 2).ok_or("two hex digits after \\x")?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| "two hex digits after \\x")?);
                i += 2;
            }
            b'0'..=b'7' => {
                let end = (i + 2).min(bytes.len());
                let oct = &inner[i - 1..end];
                let digits = oct.bytes().take_while(|c| (b'0'..=b'7').contains(c)).count();
                out.push(u8::from_str_radix(&oct[..digits], 8).map_err(|_| "an octal escape up to \\377")?);
                i += digits - 1;
            }
            _ => return Err(format!("a known escape (not \\{})", esc as char)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_in_every_notation() {
        assert_eq!(parse_int("0xff"), Some(255));
        assert_eq!(parse_int("-12"), Some(-12));
        assert_eq!(parse_int("0b101"), Some(5));
        assert_eq!(parse_int("1_000"), Some(1000));
        assert_eq!(parse_int("x"), None);
    }

    #[test]
    fn hex_and_escapes() {
        assert_eq!(parse_hex("0a 0B"), Some(vec![10, 11]));
        assert_eq!(parse_hex("abc"), None);
        assert_eq!(unescape(r#"a\n\"\x41\101\0"#).unwrap(), b"a\n\"AA\0");
        assert_eq!(unquote("plain text").unwrap(), "plain text");
        assert_eq!(unquote("\"q\\tq\"").unwrap(), "q\tq");
    }
}
