//! Edit operations, one per line of an edit script, addressed by path: what each means,
//! how it is written and read back. [`crate::edit::plan`] turns one into splices.

use std::fmt;

use crate::edit::value;
use crate::model::path::PathError;

/// One edit. Its `Display` is its line in an edit script; [`EditOp::parse`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOp {
    /// `set PATH VALUE`: a scalar, string, bytes (hex), enum or Any `@type`; adds the field
    /// (or appends the next element of a repeated field) when it is absent.
    Set {
        /// Where.
        path: String,
        /// The value as typed.
        value: String,
    },
    /// `delete PATH`: removes a field, a repeated element or a packed value.
    Delete {
        /// What.
        path: String,
    },
    /// `duplicate PATH`: inserts a copy of the field right after it.
    Duplicate {
        /// What.
        path: String,
    },
    /// `insert PATH[i] [from SRC]`: a new element before element `i`, a copy of `SRC` or
    /// the default value.
    Insert {
        /// Where.
        path: String,
        /// What to copy.
        from: Option<String>,
    },
    /// `append PATH [from SRC]`: a new element after the last one of a repeated field.
    Append {
        /// The repeated field (no index).
        path: String,
        /// What to copy.
        from: Option<String>,
    },
    /// `add PATH`: a field the schema knows, with its default value.
    Add {
        /// The field.
        path: String,
    },
    /// `replace-raw PATH HEX` or `replace-raw @OFFSET+LEN HEX`: replaces a node's bytes (tag
    /// included) or a span; enclosing length prefixes follow.
    ReplaceRaw {
        /// What to replace.
        target: Target,
        /// The new bytes.
        bytes: Vec<u8>,
    },
    /// `set-raw PATH HEX`: sets a length-delimited value's bytes unchecked (invalid UTF-8…).
    SetRaw {
        /// Where.
        path: String,
        /// The new value bytes.
        bytes: Vec<u8>,
    },
    /// `truncate OFFSET`: cuts the file there.
    Truncate {
        /// New length.
        offset: usize,
    },
    /// `flip OFFSET BIT`: flips one bit.
    Flip {
        /// Byte.
        offset: usize,
        /// Bit, 0 to 7.
        bit: u8,
    },
    /// `set-length PATH N`: writes a (possibly false) length prefix, content unchanged.
    SetLength {
        /// The length-delimited field.
        path: String,
        /// The length to claim.
        length: u64,
    },
    /// `set-wire PATH W`: rewrites the tag's wire type (0 to 7).
    SetWire {
        /// The field.
        path: String,
        /// The new wire type bits.
        wire: u8,
    },
    /// `overlong PATH`: rewrites a varint value (or a length prefix) in 10 bytes.
    Overlong {
        /// The field.
        path: String,
    },
    /// `insert-raw PATH HEX`: appends raw bytes inside a message (an unknown field…).
    InsertRaw {
        /// The message.
        path: String,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

/// What a raw replacement addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A node's whole bytes.
    Path(String),
    /// A byte span.
    Span {
        /// First byte.
        offset: usize,
        /// How many bytes.
        len: usize,
    },
}

/// Why an edit cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The path names nothing.
    #[error(transparent)]
    Path(#[from] PathError),
    /// The value does not fit the field.
    #[error("{path}: {source}")]
    Value {
        /// Where.
        path: String,
        /// Why.
        source: value::ValueError,
    },
    /// The edit does not apply to what the path names.
    #[error("{path}: {reason}")]
    NotApplicable {
        /// Where.
        path: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// A script line that is not an edit.
    #[error("{0}")]
    Syntax(String),
    /// A byte offset past the end.
    #[error("offset {offset} is past the end ({len} bytes)")]
    Offset {
        /// The offset.
        offset: usize,
        /// The size of the bytes.
        len: usize,
    },
}

pub(crate) fn not_applicable(path: &str, reason: impl Into<String>) -> EditError {
    EditError::NotApplicable { path: path.to_owned(), reason: reason.into() }
}

/// Whether a `set` value cannot be written as it is on one script line: empty, with
/// control characters, or with leading or trailing space (which reading trims).
fn needs_quoting(value: &str) -> bool {
    value.is_empty() || value.trim() != value || value.chars().any(|c| c.is_control())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Display for EditOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = |from: &Option<String>| from.as_ref().map(|s| format!(" from {s}")).unwrap_or_default();
        match self {
            EditOp::Set { path, value } if needs_quoting(value) => {
                // Written as the quoted form of what it sets, which reads back to the same.
                let content = value::unquote(value).unwrap_or_else(|_| value.clone());
                let mut quoted = String::new();
                crate::model::value::c_escape(content.as_bytes(), &mut quoted);
                write!(f, "set {path} \"{quoted}\"")
            }
            EditOp::Set { path, value } => write!(f, "set {path} {value}"),
            EditOp::Delete { path } => write!(f, "delete {path}"),
            EditOp::Duplicate { path } => write!(f, "duplicate {path}"),
            EditOp::Insert { path, from: src } => write!(f, "insert {path}{}", from(src)),
            EditOp::Append { path, from: src } => write!(f, "append {path}{}", from(src)),
            EditOp::Add { path } => write!(f, "add {path}"),
            EditOp::ReplaceRaw { target: Target::Path(path), bytes } => write!(f, "replace-raw {path} {}", hex(bytes)),
            EditOp::ReplaceRaw { target: Target::Span { offset, len }, bytes } => {
                write!(f, "replace-raw @{offset}+{len} {}", hex(bytes))
            }
            EditOp::SetRaw { path, bytes } => write!(f, "set-raw {path} {}", hex(bytes)),
            EditOp::Truncate { offset } => write!(f, "truncate {offset}"),
            EditOp::Flip { offset, bit } => write!(f, "flip {offset} {bit}"),
            EditOp::SetLength { path, length } => write!(f, "set-length {path} {length}"),
            EditOp::SetWire { path, wire } => write!(f, "set-wire {path} {wire}"),
            EditOp::Overlong { path } => write!(f, "overlong {path}"),
            EditOp::InsertRaw { path, bytes } => write!(f, "insert-raw {path} {}", hex(bytes)),
        }
    }
}

impl EditOp {
    /// Reads one script line (not a comment or blank line).
    pub fn parse(line: &str) -> Result<EditOp, EditError> {
        let line = line.trim();
        let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let syntax = |usage: &str| EditError::Syntax(format!("`{line}`: expected `{usage}`"));
        let one = |usage: &str| -> Result<String, EditError> {
            if rest.is_empty() || rest.contains(char::is_whitespace) { Err(syntax(usage)) } else { Ok(rest.to_owned()) }
        };
        let two = |usage: &str| -> Result<(String, String), EditError> {
            let (a, b) = rest.split_once(char::is_whitespace).ok_or_else(|| syntax(usage))?;
            Ok((a.to_owned(), b.trim().to_owned()))
        };
        let hex_arg = |text: &str, usage: &str| value::parse_hex(text).ok_or_else(|| syntax(usage));
        let number = |text: &str, usage: &str| value::parse_int(text).ok_or_else(|| syntax(usage));
        let bits = |text: &str, usage: &str| -> Result<u8, EditError> {
            number(text, usage)?.try_into().ok().filter(|b: &u8| *b < 8).ok_or_else(|| syntax(usage))
        };
        let with_from = |usage: &str| -> Result<(String, Option<String>), EditError> {
            let words: Vec<&str> = rest.split_whitespace().collect();
            match words.as_slice() {
                [path] => Ok((path.to_string(), None)),
                [path, "from", src] => Ok((path.to_string(), Some(src.to_string()))),
                _ => Err(syntax(usage)),
            }
        };
        Ok(match verb {
            "set" => {
                let (path, value) = two("set PATH VALUE")?;
                EditOp::Set { path, value }
            }
            "delete" | "clear" => EditOp::Delete { path: one("delete PATH")? },
            "duplicate" => EditOp::Duplicate { path: one("duplicate PATH")? },
            "insert" => {
                let (path, from) = with_from("insert PATH[i] [from SRC]")?;
                EditOp::Insert { path, from }
            }
            "append" => {
                let (path, from) = with_from("append PATH [from SRC]")?;
                EditOp::Append { path, from }
            }
            "add" => EditOp::Add { path: one("add PATH")? },
            "replace-raw" => {
                let usage = "replace-raw PATH HEX` or `replace-raw @OFFSET+LEN HEX";
                let (target, bytes) = two(usage)?;
                let target = match target.strip_prefix('@') {
                    Some(span) => {
                        let (offset, len) = span.split_once('+').ok_or_else(|| syntax(usage))?;
                        let offset = number(offset, usage)?.try_into().map_err(|_| syntax(usage))?;
                        let len = number(len, usage)?.try_into().map_err(|_| syntax(usage))?;
                        Target::Span { offset, len }
                    }
                    None => Target::Path(target),
                };
                EditOp::ReplaceRaw { target, bytes: hex_arg(&bytes, usage)? }
            }
            "set-raw" => {
                let (path, bytes) = two("set-raw PATH HEX")?;
                EditOp::SetRaw { path, bytes: hex_arg(&bytes, "set-raw PATH HEX")? }
            }
            "truncate" => {
                let usage = "truncate OFFSET";
                EditOp::Truncate { offset: number(&one(usage)?, usage)?.try_into().map_err(|_| syntax(usage))? }
            }
            "flip" => {
                let usage = "flip OFFSET BIT (0-7)";
                let (offset, bit) = two(usage)?;
                EditOp::Flip {
                    offset: number(&offset, usage)?.try_into().map_err(|_| syntax(usage))?,
                    bit: bits(&bit, usage)?,
                }
            }
            "set-length" => {
                let usage = "set-length PATH N";
                let (path, n) = two(usage)?;
                EditOp::SetLength { path, length: number(&n, usage)?.try_into().map_err(|_| syntax(usage))? }
            }
            "set-wire" => {
                let usage = "set-wire PATH W (0-7)";
                let (path, w) = two(usage)?;
                EditOp::SetWire { path, wire: bits(&w, usage)? }
            }
            "overlong" => EditOp::Overlong { path: one("overlong PATH")? },
            "insert-raw" => {
                let (path, bytes) = two("insert-raw PATH HEX")?;
                EditOp::InsertRaw { path, bytes: hex_arg(&bytes, "insert-raw PATH HEX")? }
            }
            _ => {
                return Err(EditError::Syntax(format!(
                    "`{verb}` is not an edit; edits are set, delete, duplicate, insert, append, add, \
                     replace-raw, set-raw, truncate, flip, set-length, set-wire, overlong, insert-raw"
                )));
            }
        })
    }
}
