//! Edit operations, one per line of an edit script, addressed by path: what each means,
//! how it is written and read back. [`crate::edit::plan`] turns one into splices.

use std::fmt;

use crate::edit::value;
use crate::model::path::{FieldPath, PathError};
use crate::model::value::hex;

/// One edit. Its `Display` is its line in an edit script; [`EditOp::parse`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOp {
    /// `set PATH VALUE`: a scalar, string, bytes (hex), enum or Any `@type`; adds the field
    /// (or appends the next element of a repeated field) when it is absent.
    Set {
        /// Where.
        path: FieldPath,
        /// The value as typed.
        value: String,
    },
    /// `delete PATH`: removes a field, a repeated element or a packed value.
    Delete {
        /// What.
        path: FieldPath,
    },
    /// `duplicate PATH`: inserts a copy of the field right after it.
    Duplicate {
        /// What.
        path: FieldPath,
    },
    /// `insert PATH[i] [from SRC]`: a new element before element `i`, a copy of `SRC` or
    /// the default value.
    Insert {
        /// Where.
        path: FieldPath,
        /// What to copy.
        from: Option<FieldPath>,
    },
    /// `append PATH [from SRC]`: a new element after the last one of a repeated field.
    Append {
        /// The repeated field (no index).
        path: FieldPath,
        /// What to copy.
        from: Option<FieldPath>,
    },
    /// `add PATH`: a field the schema knows, with its default value.
    Add {
        /// The field.
        path: FieldPath,
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
        path: FieldPath,
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
    /// `remove-byte OFFSET`: removes one byte as it is; no length prefix follows (undoes a
    /// byte that corruption inserted).
    RemoveByte {
        /// The byte.
        offset: usize,
    },
    /// `set-byte OFFSET BYTE`: overwrites one byte as it is; no length prefix follows (the
    /// browser's hex pane writes these).
    SetByte {
        /// The byte.
        offset: usize,
        /// Its new value.
        value: u8,
    },
    /// `insert-byte OFFSET BYTE`: inserts one byte before OFFSET as it is; no length prefix
    /// follows (puts back a byte that corruption dropped).
    InsertByte {
        /// Where it goes.
        offset: usize,
        /// Its value.
        value: u8,
    },
    /// `set-length PATH N`: writes a (possibly false) length prefix, content unchanged.
    SetLength {
        /// The length-delimited field.
        path: FieldPath,
        /// The length to claim.
        length: u64,
    },
    /// `set-wire PATH W`: rewrites the tag's wire type (0 to 7).
    SetWire {
        /// The field.
        path: FieldPath,
        /// The new wire type bits.
        wire: u8,
    },
    /// `overlong PATH`: rewrites a varint value (or a length prefix) in 10 bytes.
    Overlong {
        /// The field.
        path: FieldPath,
    },
    /// `insert-raw PATH HEX`: appends raw bytes inside a message (an unknown field…).
    InsertRaw {
        /// The message.
        path: FieldPath,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

/// What a raw replacement addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A node's whole bytes.
    Path(FieldPath),
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
    /// A byte span that runs past the end.
    #[error("@{offset}+{len} runs past the end ({size} bytes)")]
    Span {
        /// Where the span starts.
        offset: usize,
        /// How long it is.
        len: usize,
        /// The size of the bytes.
        size: usize,
    },
}

pub(crate) fn not_applicable(path: &FieldPath, reason: impl Into<String>) -> EditError {
    EditError::NotApplicable { path: path.to_string(), reason: reason.into() }
}

/// Whether a `set` value cannot be written as it is on one script line: empty, with
/// control characters, or with leading or trailing space (which reading trims).
fn needs_quoting(value: &str) -> bool {
    value.is_empty() || value.trim() != value || value.chars().any(|c| c.is_control())
}

impl fmt::Display for EditOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = |from: &Option<FieldPath>| from.as_ref().map(|s| format!(" from {s}")).unwrap_or_default();
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
            EditOp::RemoveByte { offset } => write!(f, "remove-byte {offset}"),
            EditOp::SetByte { offset, value } => write!(f, "set-byte {offset} {value:#04x}"),
            EditOp::InsertByte { offset, value } => write!(f, "insert-byte {offset} {value:#04x}"),
            EditOp::SetLength { path, length } => write!(f, "set-length {path} {length}"),
            EditOp::SetWire { path, wire } => write!(f, "set-wire {path} {wire}"),
            EditOp::Overlong { path } => write!(f, "overlong {path}"),
            EditOp::InsertRaw { path, bytes } => write!(f, "insert-raw {path} {}", hex(bytes)),
        }
    }
}

/// One edit verb of the script language: its name, how it is written, and how the rest of
/// its line is read. [`VERBS`] lists them all; parsing, the error for an unknown verb and
/// the usage texts all come from that one table.
#[derive(Debug, Clone, Copy)]
pub struct Verb {
    /// The word that starts the line.
    pub name: &'static str,
    /// How a line of it is written.
    pub usage: &'static str,
    /// Reads the words after the verb.
    parse: fn(&mut Args<'_>) -> Result<EditOp, EditError>,
}

/// Every edit verb, in the order `--help` and errors list them.
pub const VERBS: &[Verb] = &[
    Verb { name: "set", usage: "set PATH VALUE", parse: |a| Ok(EditOp::Set { path: a.path()?, value: a.rest()? }) },
    Verb { name: "delete", usage: "delete PATH", parse: |a| Ok(EditOp::Delete { path: a.last_path()? }) },
    Verb { name: "duplicate", usage: "duplicate PATH", parse: |a| Ok(EditOp::Duplicate { path: a.last_path()? }) },
    Verb {
        name: "insert",
        usage: "insert PATH[i] [from SRC]",
        parse: |a| Ok(EditOp::Insert { path: a.path()?, from: a.from()? }),
    },
    Verb {
        name: "append",
        usage: "append PATH [from SRC]",
        parse: |a| Ok(EditOp::Append { path: a.path()?, from: a.from()? }),
    },
    Verb { name: "add", usage: "add PATH", parse: |a| Ok(EditOp::Add { path: a.last_path()? }) },
    Verb {
        name: "replace-raw",
        usage: "replace-raw PATH HEX` or `replace-raw @OFFSET+LEN HEX",
        parse: |a| Ok(EditOp::ReplaceRaw { target: a.target()?, bytes: a.hex()? }),
    },
    Verb {
        name: "set-raw",
        usage: "set-raw PATH HEX",
        parse: |a| Ok(EditOp::SetRaw { path: a.path()?, bytes: a.hex()? }),
    },
    Verb { name: "truncate", usage: "truncate OFFSET", parse: |a| Ok(EditOp::Truncate { offset: a.last_number()? }) },
    Verb {
        name: "flip",
        usage: "flip OFFSET BIT (0-7)",
        parse: |a| Ok(EditOp::Flip { offset: a.number()?, bit: a.bits()? }),
    },
    Verb {
        name: "remove-byte",
        usage: "remove-byte OFFSET",
        parse: |a| Ok(EditOp::RemoveByte { offset: a.last_number()? }),
    },
    Verb {
        name: "set-byte",
        usage: "set-byte OFFSET BYTE",
        parse: |a| Ok(EditOp::SetByte { offset: a.number()?, value: a.last_number()? }),
    },
    Verb {
        name: "insert-byte",
        usage: "insert-byte OFFSET BYTE",
        parse: |a| Ok(EditOp::InsertByte { offset: a.number()?, value: a.last_number()? }),
    },
    Verb {
        name: "set-length",
        usage: "set-length PATH N",
        parse: |a| Ok(EditOp::SetLength { path: a.path()?, length: a.last_number()? }),
    },
    Verb {
        name: "set-wire",
        usage: "set-wire PATH W (0-7)",
        parse: |a| Ok(EditOp::SetWire { path: a.path()?, wire: a.bits()? }),
    },
    Verb { name: "overlong", usage: "overlong PATH", parse: |a| Ok(EditOp::Overlong { path: a.last_path()? }) },
    Verb {
        name: "insert-raw",
        usage: "insert-raw PATH HEX",
        parse: |a| Ok(EditOp::InsertRaw { path: a.path()?, bytes: a.hex()? }),
    },
];

/// Older spellings still read: (old, current).
const ALIASES: &[(&str, &str)] = &[("clear", "delete")];

/// The words of a script line after its verb, read one at a time.
pub struct Args<'l> {
    line: &'l str,
    usage: &'static str,
    rest: &'l str,
}

impl Args<'_> {
    fn syntax(&self) -> EditError {
        EditError::Syntax(format!("`{}`: expected `{}`", self.line, self.usage))
    }

    /// The next word.
    fn word(&mut self) -> Result<&str, EditError> {
        let rest = self.rest.trim_start();
        if rest.is_empty() {
            return Err(self.syntax());
        }
        let (word, after) = rest.split_at(rest.find(char::is_whitespace).unwrap_or(rest.len()));
        self.rest = after;
        Ok(word)
    }

    /// Fails unless every word was read.
    fn end(&self) -> Result<(), EditError> {
        if self.rest.trim().is_empty() { Ok(()) } else { Err(self.syntax()) }
    }

    /// Everything left on the line, trimmed (a value may hold spaces).
    fn rest(&mut self) -> Result<String, EditError> {
        let rest = std::mem::take(&mut self.rest).trim();
        if rest.is_empty() { Err(self.syntax()) } else { Ok(rest.to_owned()) }
    }

    fn path(&mut self) -> Result<FieldPath, EditError> {
        Ok(FieldPath::parse(self.word()?)?)
    }

    /// A path that is the last word.
    fn last_path(&mut self) -> Result<FieldPath, EditError> {
        let path = self.path()?;
        self.end().map(|()| path)
    }

    /// An optional `from SRC` that ends the line.
    fn from(&mut self) -> Result<Option<FieldPath>, EditError> {
        if self.rest.trim().is_empty() {
            return Ok(None);
        }
        if self.word()? != "from" {
            return Err(self.syntax());
        }
        self.last_path().map(Some)
    }

    /// Hex bytes that end the line.
    fn hex(&mut self) -> Result<Vec<u8>, EditError> {
        let text = self.rest()?;
        value::parse_hex(&text).ok_or_else(|| self.syntax())
    }

    fn number<T: TryFrom<i128>>(&mut self) -> Result<T, EditError> {
        let word = self.word()?;
        value::parse_int(word).and_then(|n| T::try_from(n).ok()).ok_or_else(|| self.syntax())
    }

    /// A number that is the last word.
    fn last_number<T: TryFrom<i128>>(&mut self) -> Result<T, EditError> {
        let n = self.number()?;
        self.end().map(|()| n)
    }

    /// A bit number or wire type, 0 to 7, that is the last word.
    fn bits(&mut self) -> Result<u8, EditError> {
        let n: u8 = self.last_number()?;
        if n < 8 { Ok(n) } else { Err(self.syntax()) }
    }

    /// A path, or `@OFFSET+LEN`.
    fn target(&mut self) -> Result<Target, EditError> {
        let word = self.word()?;
        let Some(span) = word.strip_prefix('@') else { return Ok(Target::Path(FieldPath::parse(word)?)) };
        let number = |text: &str| value::parse_int(text).and_then(|n| usize::try_from(n).ok());
        let parsed = span.split_once('+').and_then(|(offset, len)| Some((number(offset)?, number(len)?)));
        let (offset, len) = parsed.ok_or_else(|| self.syntax())?;
        Ok(Target::Span { offset, len })
    }
}

impl EditOp {
    /// Reads one script line (not a comment or blank line).
    pub fn parse(line: &str) -> Result<EditOp, EditError> {
        let line = line.trim();
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let name = ALIASES.iter().find(|(old, _)| *old == word).map_or(word, |(_, current)| current);
        let Some(verb) = VERBS.iter().find(|v| v.name == name) else {
            let names: Vec<&str> = VERBS.iter().map(|v| v.name).collect();
            return Err(EditError::Syntax(format!("`{word}` is not an edit; edits are {}", names.join(", "))));
        };
        (verb.parse)(&mut Args { line, usage: verb.usage, rest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verb_reads_back_what_it_writes() {
        let lines = [
            "set units[1].state.last 99",
            "set units[0].name \"two words\"",
            "delete units[3]",
            "duplicate units[2].state.timers.field1[0]",
            "insert units[1] from units[4]",
            "append units",
            "add units[2].state.last",
            "replace-raw @502+1 12",
            "replace-raw units[4].state.cmos 0a00",
            "set-raw units[0].name ff",
            "truncate 40",
            "flip 7 3",
            "remove-byte 12",
            "set-byte 12 0xff",
            "insert-byte 12 0x0a",
            "set-length units[8] 300",
            "set-wire units[4].state.cmos 0",
            "overlong units[2].state.last",
            "insert-raw units[1].state 0801",
        ];
        for line in lines {
            let op = EditOp::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(op.to_string(), line);
        }
        let verbs: std::collections::HashSet<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(verbs.len(), VERBS.len(), "every verb is tried");
    }

    #[test]
    fn malformed_lines_say_what_was_expected() {
        for (line, expected) in [
            ("delete", "expected `delete PATH`"),
            ("delete a b", "expected `delete PATH`"),
            ("flip 3 8", "expected `flip OFFSET BIT (0-7)`"),
            ("insert a to b", "expected `insert PATH[i] [from SRC]`"),
            ("replace-raw @1+x 00", "replace-raw @OFFSET+LEN HEX"),
            ("set-raw a zz", "expected `set-raw PATH HEX`"),
            ("truncate -1", "expected `truncate OFFSET`"),
            ("frob a", "`frob` is not an edit; edits are set, delete"),
            ("delete a..b", "is not a path"),
        ] {
            let error = EditOp::parse(line).unwrap_err().to_string();
            assert!(error.contains(expected), "{line}: {error}");
        }
        assert_eq!(EditOp::parse("clear units[1]").unwrap(), EditOp::parse("delete units[1]").unwrap());
    }
}
