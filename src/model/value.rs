//! Reading a node's value from the bytes and rendering it: decimal integers (hex alongside),
//! zigzag, floats, bools, enum names, escaped strings and bytes.

use std::fmt::Write as _;

use prost_reflect::Kind;

use crate::decode::wire::{self, WireType};
use crate::model::document::Document;
use crate::model::node::{NodeId, NodeKind};

/// A decoded scalar value.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A signed integer (int32/64, sint32/64, sfixed32/64).
    Signed(i64),
    /// An unsigned integer (uint32/64, fixed32/64, and raw varints of unknown fields).
    Unsigned(u64),
    /// A float or double.
    Float(f64),
    /// A bool.
    Bool(bool),
    /// An enum number, with its name when the enum declares it.
    Enum(i32, Option<String>),
}

/// The raw varint or little-endian fixed value of a scalar node or packed element.
pub fn raw_scalar(doc: &Document, id: NodeId) -> Option<u64> {
    let node = doc.node(id);
    let bytes = doc.bytes();
    let start = node.value_start as usize;
    let end = node.value_end as usize;
    let wire = match node.kind {
        NodeKind::Scalar => node.wire?,
        NodeKind::Element => match end - start {
            4 if element_is_fixed(doc, id) => WireType::Fixed32,
            8 if element_is_fixed(doc, id) => WireType::Fixed64,
            _ => WireType::Varint,
        },
        _ => return None,
    };
    match wire {
        WireType::Varint => wire::read_varint(bytes, start, end).ok().map(|v| v.0),
        WireType::Fixed32 | WireType::Fixed64 => {
            let mut raw = [0u8; 8];
            raw[..end - start].copy_from_slice(&bytes[start..end]);
            Some(u64::from_le_bytes(raw))
        }
        _ => None,
    }
}

fn element_is_fixed(doc: &Document, id: NodeId) -> bool {
    doc.field(id)
        .and_then(|f| crate::decode::overlay::scalar_wire(&f.kind()))
        .is_some_and(|w| w != WireType::Varint)
}

/// Interprets a raw wire value as a declared kind.
pub fn interpret(kind: &Kind, raw: u64) -> Scalar {
    match kind {
        Kind::Int32 | Kind::Sfixed32 => Scalar::Signed(i64::from(raw as u32 as i32)),
        Kind::Int64 | Kind::Sfixed64 => Scalar::Signed(raw as i64),
        Kind::Uint32 | Kind::Fixed32 => Scalar::Unsigned(u64::from(raw as u32)),
        Kind::Sint32 => {
            let v = raw as u32;
            Scalar::Signed(i64::from(((v >> 1) as i32) ^ -((v & 1) as i32)))
        }
        Kind::Sint64 => Scalar::Signed(((raw >> 1) as i64) ^ -((raw & 1) as i64)),
        Kind::Bool => Scalar::Bool(raw != 0),
        Kind::Float => Scalar::Float(f64::from(f32::from_bits(raw as u32))),
        Kind::Double => Scalar::Float(f64::from_bits(raw)),
        Kind::Enum(e) => {
            let n = raw as u32 as i32;
            Scalar::Enum(n, e.get_value(n).map(|v| v.name().to_owned()))
        }
        Kind::Uint64 | Kind::Fixed64 | Kind::String | Kind::Bytes | Kind::Message(_) => {
            Scalar::Unsigned(raw)
        }
    }
}

/// The scalar value of a node, interpreted by its field's kind when the schema knows it.
pub fn scalar(doc: &Document, id: NodeId) -> Option<Scalar> {
    let raw = raw_scalar(doc, id)?;
    let kind = doc
        .field(id)
        .map(|f| f.kind())
        .filter(|k| crate::decode::overlay::scalar_wire(k).is_some() && !doc.node(id).has_problem);
    Some(match kind {
        Some(kind) => interpret(&kind, raw),
        None => Scalar::Unsigned(raw),
    })
}

/// Renders a scalar as protobuf text format does (`-3`, `true`, `NAME`, `1.5`).
pub fn scalar_text(value: &Scalar) -> String {
    match value {
        Scalar::Signed(v) => v.to_string(),
        Scalar::Unsigned(v) => v.to_string(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Float(f) => float_text(*f),
        Scalar::Enum(_, Some(name)) => name.clone(),
        Scalar::Enum(n, None) => n.to_string(),
    }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        "nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 {
            "inf".to_owned()
        } else {
            "-inf".to_owned()
        }
    } else {
        format!("{f}")
    }
}

/// Renders a scalar for people: decimal with hex alongside for integers of 10 and up.
pub fn scalar_display(value: &Scalar) -> String {
    match value {
        Scalar::Unsigned(v) if *v >= 10 => format!("{v} (0x{v:x})"),
        Scalar::Signed(v) if *v >= 10 => format!("{v} (0x{v:x})"),
        Scalar::Enum(n, None) => format!("{n} (not a declared value)"),
        Scalar::Enum(n, Some(name)) => format!("{name} ({n})"),
        other => scalar_text(other),
    }
}

/// Escapes bytes the way protoc's text format does (C escapes, octal for the rest).
pub fn c_escape(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
}

/// Renders bytes as lowercase hex, at most `limit` bytes, with a count of the rest.
pub fn hex_preview(bytes: &[u8], limit: usize) -> String {
    let mut out = String::with_capacity(bytes.len().min(limit) * 2 + 16);
    for b in bytes.iter().take(limit) {
        let _ = write!(out, "{b:02x}");
    }
    if bytes.len() > limit {
        let _ = write!(out, "… (+{} bytes)", bytes.len() - limit);
    }
    out
}

/// A short, one-line rendering of a node's value for the tree views.
pub fn preview(doc: &Document, id: NodeId, limit: usize) -> String {
    let node = doc.node(id);
    match node.kind {
        NodeKind::Scalar | NodeKind::Element => scalar(doc, id)
            .map(|v| scalar_display(&v))
            .unwrap_or_default(),
        NodeKind::String => {
            let bytes = doc.value_bytes(id);
            let mut out = String::from("\"");
            c_escape(&bytes[..bytes.len().min(limit)], &mut out);
            out.push('"');
            if bytes.len() > limit {
                let _ = write!(out, "… (+{} bytes)", bytes.len() - limit);
            }
            out
        }
        NodeKind::Bytes => {
            let bytes = doc.value_bytes(id);
            format!("[{} bytes] {}", bytes.len(), hex_preview(bytes, limit / 2))
        }
        NodeKind::Error => format!("[{} bytes unreadable]", node.value_end - node.value_start),
        NodeKind::Packed => format!("[{} elements]", doc.children(id).count()),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_and_sign() {
        assert_eq!(interpret(&Kind::Sint32, 1), Scalar::Signed(-1));
        assert_eq!(interpret(&Kind::Sint32, 4), Scalar::Signed(2));
        assert_eq!(interpret(&Kind::Sint64, 3), Scalar::Signed(-2));
        assert_eq!(interpret(&Kind::Int32, u64::MAX), Scalar::Signed(-1));
        assert_eq!(interpret(&Kind::Sfixed32, 0xffff_fffe), Scalar::Signed(-2));
        assert_eq!(interpret(&Kind::Float, 0x3fc0_0000), Scalar::Float(1.5));
        assert_eq!(interpret(&Kind::Bool, 2), Scalar::Bool(true));
    }

    #[test]
    fn escapes_like_protoc() {
        let mut s = String::new();
        c_escape(b"a\"\n\x00\xff", &mut s);
        assert_eq!(s, "a\\\"\\n\\000\\377");
    }
}
