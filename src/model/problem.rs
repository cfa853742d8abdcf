//! Problems found while decoding: what is wrong, at which node and byte offset, worded like
//! the VMM's own restore errors so that a reader can match them to a failed restore.

use crate::decode::schema::TypeIndex;
use crate::decode::wire::{WireErrorKind, WireType};
use crate::model::cause::Cause;
use crate::model::document::Document;
use crate::model::node::NodeId;
use crate::model::value::c_escape;

/// The advice for a field or an Any's type that no registered schema declares, when the
/// user loaded none of theirs.
pub const LOAD_SCHEMAS: &str = "load the VMM's schema folder with --proto-dir";

/// Text of the input that a problem names (a type URL, a unit's name): where its bytes are,
/// read from the document when the problem is put in words. A place, not a copy: a copy
/// shared by the units that repeat one text had its count raised and lowered for each
/// (taking it away made the `check` of 4 MB of units that each have a problem 7% faster).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputText {
    start: u64,
    end: u64,
}

impl InputText {
    /// The text at `span` of the input.
    pub fn at(span: std::ops::Range<usize>) -> InputText {
        InputText { start: span.start as u64, end: span.end as u64 }
    }

    /// Its bytes in `doc` (none if `doc` is not the document it was found in and is shorter).
    pub fn bytes<'d>(&self, doc: &'d Document) -> &'d [u8] {
        let span = usize::try_from(self.start).unwrap_or(usize::MAX)..usize::try_from(self.end).unwrap_or(usize::MAX);
        doc.bytes().get(span).unwrap_or_default()
    }

    /// Its text in `doc`, each byte that is not UTF-8 shown as a replacement character.
    pub fn lossy<'d>(&self, doc: &'d Document) -> std::borrow::Cow<'d, str> {
        String::from_utf8_lossy(self.bytes(doc))
    }

    /// Its text in `doc` as the report words a unit's name: as written where it is UTF-8,
    /// and its other bytes escaped as protoc escapes them (`\377`), where a replacement
    /// character would hide them.
    pub fn escaped(&self, doc: &Document) -> String {
        escaped(self.bytes(doc))
    }

    /// The same text once the bytes before it moved by `delta`.
    pub fn moved_by(self, delta: i64) -> Option<InputText> {
        Some(InputText { start: self.start.checked_add_signed(delta)?, end: self.end.checked_add_signed(delta)? })
    }
}

/// [`InputText::escaped`] of `bytes`.
fn escaped(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        c_escape(chunk.invalid(), &mut text);
    }
    text
}

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Legal protobuf that a reader may still handle (e.g. a field the schema lacks).
    Warning,
    /// The restore would fail on this.
    Error,
}

/// One problem, attached to the node it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The node the problem is shown on.
    pub node: NodeId,
    /// Absolute byte offset of the defect.
    pub offset: u64,
    /// What is wrong.
    pub kind: ProblemKind,
    /// Problems alike after it on its node (of the same kind, values of a packed run one
    /// after another) that a decoder counting them past a few ([`crate::Decoder::counting_alike_past`])
    /// counted here and did not keep; 0 for every other.
    pub more_alike: u32,
}

/// The kinds of problem the decoder reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The bytes are not valid wire format here (shown as an error node to the span's end).
    Wire {
        /// The message type being decoded, if known.
        in_type: Option<TypeIndex>,
        /// What the scanner found.
        reason: WireErrorKind,
    },
    /// A length prefix runs past the end of its enclosing span; the remainder is shown.
    Truncated {
        /// Declared length.
        len: u64,
        /// Bytes actually there.
        have: u64,
        /// The message type being decoded, if known.
        in_type: Option<TypeIndex>,
        /// Whether the enclosing span is the whole input (the file ends early) rather than
        /// an enclosing field (a length prefix that lies).
        input_ends: bool,
    },
    /// A length-delimited field declared as a message (or packed run) whose bytes do not
    /// parse as one; shown raw.
    NotParsedAs {
        /// What the schema says it is (shared with the type's facts: a blob may hold a
        /// million of these).
        expected: std::sync::Arc<str>,
        /// Why it does not parse.
        reason: WireErrorKind,
    },
    /// The tag's wire type contradicts the declared field type; shown raw.
    WireTypeMismatch {
        /// The declared protobuf type.
        declared: Box<str>,
        /// The wire type found.
        found: WireType,
        /// What the VMM says of it ([`crate::decode::schema::FieldClass::vmm_expects`]).
        vmm_says: &'static str,
    },
    /// A field number the schema does not declare.
    UnknownField {
        /// The message type that lacks it.
        in_type: TypeIndex,
    },
    /// An Any whose type URL names no registered message.
    UnknownTypeUrl {
        /// The URL as written.
        url: InputText,
    },
    /// An Any with a payload but no type URL.
    MissingTypeUrl,
    /// An Any whose type URL names a registered type, but not the way the VMM writes it
    /// (another host): the VMM compares URLs whole.
    TypeUrlMismatch {
        /// The URL the VMM expects for that type.
        expected: Box<str>,
        /// The URL as written.
        got: Box<str>,
    },
    /// A state unit whose name an earlier unit has: the VMM matches units by name.
    DuplicateUnitName {
        /// The name, as this unit writes it.
        name: InputText,
    },
    /// A whole-VM blob with no state units at all (or an empty blob of any type).
    NoUnits,
    /// The single fault that explains the damage in a top-level field: undoing it makes
    /// the whole field decode cleanly. Boxed: it is rare, and the room it would take
    /// inline every problem would take.
    LikelyCause(Box<Cause>),
    /// A string field that is not UTF-8.
    InvalidUtf8,
    /// A field the reader requires (a fixed array) is absent.
    MissingRequiredField {
        /// The field's name.
        field: Box<str>,
        /// The message type that requires it.
        in_type: TypeIndex,
    },
    /// A Rust-enum message (a `oneof variant`) present with no variant set.
    MissingEnumVariant {
        /// The enum message type.
        enum_type: TypeIndex,
    },
    /// A packed-only fixed array written unpacked; the reader refuses it.
    UnpackedFixedArray,
    /// A fixed array (packed repr only) holding another count of values than the same field
    /// elsewhere in the blob: the VMM's type fixes the count.
    WrongArrayLength {
        /// Values here.
        found: u32,
        /// Values where the field was met first.
        elsewhere: u32,
    },
    /// A varint wider than its declared type.
    OutOfRange {
        /// The value on the wire.
        value: u64,
        /// What the field is.
        type_name: &'static str,
    },
    /// Nesting deeper than the depth limit; the rest is shown raw.
    DepthLimit {
        /// The limit in force.
        limit: u32,
    },
    /// Any inside Any deeper than the Any depth limit; the payload is shown raw.
    AnyDepthLimit {
        /// The limit in force.
        limit: u32,
    },
}

impl ProblemKind {
    /// Whether this is the bytes going out of step (what one damaged byte causes), rather
    /// than a value or a type the schema does not expect.
    pub fn is_structural(&self) -> bool {
        matches!(
            self,
            Self::Wire { .. }
                | Self::Truncated { input_ends: false, .. }
                | Self::NotParsedAs { .. }
                | Self::WireTypeMismatch { .. }
        )
    }

    /// A short stable name for the kind (`wire-type-mismatch`), for manifests, JSON and
    /// tables.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Wire { .. } => "wire",
            Self::Truncated { input_ends: true, .. } => "truncated",
            Self::Truncated { input_ends: false, .. } => "length-past-end",
            Self::NotParsedAs { .. } => "not-parsed-as",
            Self::WireTypeMismatch { .. } => "wire-type-mismatch",
            Self::UnknownField { .. } => "unknown-field",
            Self::UnknownTypeUrl { .. } => "unknown-type-url",
            Self::MissingTypeUrl => "missing-type-url",
            Self::InvalidUtf8 => "invalid-utf8",
            Self::TypeUrlMismatch { .. } => "type-url-mismatch",
            Self::DuplicateUnitName { .. } => "duplicate-unit-name",
            Self::NoUnits => "no-units",
            Self::LikelyCause { .. } => "likely-cause",
            Self::MissingRequiredField { .. } => "missing-required-field",
            Self::MissingEnumVariant { .. } => "missing-enum-variant",
            Self::UnpackedFixedArray => "unpacked-fixed-array",
            Self::WrongArrayLength { .. } => "wrong-array-length",
            Self::OutOfRange { .. } => "out-of-range",
            Self::DepthLimit { .. } => "depth-limit",
            Self::AnyDepthLimit { .. } => "any-depth-limit",
        }
    }

    /// Whether this, on a top-level field, may show the top level read out of step: then a
    /// byte shifted out of the unit before is looked for.
    pub fn puts_top_level_out_of_step(&self) -> bool {
        self.is_structural() || matches!(self, Self::UnknownField { .. })
    }

    /// The same problem once the bytes before where it is moved by `delta`: the input's
    /// text it names moves with it.
    pub fn moved_by(self, delta: i64) -> Option<ProblemKind> {
        Some(match self {
            Self::UnknownTypeUrl { url } => Self::UnknownTypeUrl { url: url.moved_by(delta)? },
            Self::DuplicateUnitName { name } => Self::DuplicateUnitName { name: name.moved_by(delta)? },
            kind => kind,
        })
    }

    /// Whether the restore would fail on this, or it is only worth a look.
    pub fn severity(&self) -> Severity {
        match self {
            Self::UnknownField { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// The problem in the words of the VMM's restore errors, with advice where there is one.
    /// `doc` is the document it was found in, which names the types it refers to.
    pub fn describe(&self, doc: &Document) -> String {
        let mut words = String::new();
        self.describe_into(doc, &mut words);
        words
    }

    /// [`Self::describe_into`] without the advice to load the VMM's schemas, for a listing
    /// that gives it once for all its problems (`LOAD_SCHEMAS`): a hostile blob's million
    /// unknown fields repeated it a million times, most of the listing. Returns whether it
    /// left the advice out (else the words are [`Self::describe_into`]'s).
    pub fn describe_without_advice_into(&self, doc: &Document, out: &mut String) -> bool {
        if doc.schema().has_user_schemas() {
            self.describe_into(doc, out);
            return false;
        }
        // Pushed, not formatted: a line for each of a million unknown fields.
        let url;
        let (before, named, after) = match self {
            Self::UnknownField { in_type } => {
                ("field not in ", doc.type_name(*in_type), ": written by a newer release?")
            }
            Self::UnknownTypeUrl { url: text } => {
                url = text.lossy(doc);
                ("unknown saved state type `", &*url, "`: no registered schema declares it")
            }
            _ => {
                self.describe_into(doc, out);
                return false;
            }
        };
        [before, named, after].iter().for_each(|words| out.push_str(words));
        true
    }

    /// Whether the words [`Self::describe_without_advice_into`] writes are surely printable
    /// ASCII, which a line then needs no check for (the names a hostile schema gives may
    /// be anything): those of an unknown field in a type so named.
    pub fn words_are_printable(&self, doc: &Document) -> bool {
        match self {
            Self::UnknownField { in_type } => {
                crate::model::value::is_printable_ascii(doc.type_name(*in_type).as_bytes())
            }
            _ => false,
        }
    }

    /// [`Self::describe`], written at the end of `out` (a row written per problem of a
    /// hostile blob's million reuses one buffer).
    pub fn describe_into(&self, doc: &Document, out: &mut String) {
        use std::fmt::Write as _;
        let name = |t: &TypeIndex| doc.type_name(*t);
        let in_type = |t: &Option<TypeIndex>| t.as_ref().map_or("raw bytes", name);
        let _ = match self {
            Self::Wire { in_type: t, reason } => {
                write!(out, "failed to decode protobuf: decoding failed in {}: {reason}", in_type(t))
            }
            Self::Truncated { len, have, in_type: t, input_ends: true } => write!(
                out,
                "failed to decode protobuf: decoding failed in {}: eof parsing a byte array: length {len} \
                 runs past the end of the input ({have} bytes remain): the blob is truncated; what remains is shown",
                in_type(t)
            ),
            Self::Truncated { len, have, in_type: t, input_ends: false } => write!(
                out,
                "failed to decode protobuf: decoding failed in {}: eof parsing a byte array: length {len} \
                 runs past the end of the enclosing field ({have} bytes remain): a length prefix is wrong",
                in_type(t)
            ),
            Self::NotParsedAs { expected, reason } => {
                write!(out, "failed to decode protobuf: decoding failed in {expected}: {reason}; shown as raw bytes")
            }
            Self::WireTypeMismatch { declared, found, vmm_says } => write!(
                out,
                "failed to decode protobuf: {vmm_says}: field is declared {declared} but written with \
                 wire type {found}; shown raw"
            ),
            // Never advise loading a schema that is already loaded.
            Self::UnknownField { in_type } if doc.schema().has_user_schemas() => write!(
                out,
                "field not in {} as loaded: written by a newer release, or the bytes here are out of step",
                name(in_type)
            ),
            Self::UnknownField { .. } => {
                self.describe_without_advice_into(doc, out);
                write!(out, " ({LOAD_SCHEMAS})")
            }
            Self::UnknownTypeUrl { url } if doc.schema().has_user_schemas() => write!(
                out,
                "unknown saved state type `{}`: the loaded schemas do not declare it (written by a newer \
                 release, or a renamed type?)",
                url.lossy(doc)
            ),
            Self::UnknownTypeUrl { .. } => {
                self.describe_without_advice_into(doc, out);
                write!(out, "; {LOAD_SCHEMAS}")
            }
            Self::TypeUrlMismatch { expected, got } => {
                write!(out, "protobuf type mismatch, expected {expected}, got {got}")
            }
            Self::DuplicateUnitName { name } => {
                write!(out, "restore failed: {{{}: duplicate unit name}}", name.escaped(doc))
            }
            Self::LikelyCause(cause) => write!(
                out,
                "likely cause: {}; the edit `{}` repairs it (the whole field then decodes cleanly as the \
                 loaded schema reads it, and the other problems here follow from it)",
                cause.what, cause.fix
            ),
            Self::NoUnits => {
                out.write_str("saved state holds no units (or no bytes at all): a restore would restore no device")
            }
            Self::MissingTypeUrl => out.write_str("saved state is invalid: Any has a value but no type URL"),
            Self::InvalidUtf8 => out.write_str("failed to decode protobuf: string is not valid UTF-8; shown as bytes"),
            Self::MissingRequiredField { field, in_type } => {
                write!(out, "missing required field `{field}` in {}", name(in_type))
            }
            Self::MissingEnumVariant { enum_type } => {
                write!(out, "missing enum variant: {} is present but has no variant set", name(enum_type))
            }
            Self::UnpackedFixedArray => {
                out.write_str("saved state is invalid: packed-only fixed array written unpacked")
            }
            Self::WrongArrayLength { found, elsewhere } => write!(
                out,
                "wrong packed array length: this fixed array holds {found} values, the same field elsewhere in this \
                 blob {elsewhere}; the VMM reads the count its type fixes"
            ),
            Self::OutOfRange { value, type_name } => {
                out.push_str("saved state is invalid: ");
                crate::model::value::push_decimal(*value, out);
                out.push_str(" does not fit ");
                out.write_str(type_name)
            }
            Self::DepthLimit { limit } => {
                write!(out, "nesting deeper than {limit} levels; shown raw (raise --max-depth to decode further)")
            }
            Self::AnyDepthLimit { limit } => {
                write!(out, "Any nested deeper than {limit} levels; payload shown raw (raise --max-any-depth)")
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_that_is_not_utf8_is_worded_with_its_bytes_escaped() {
        assert_eq!(escaped(b"\xff\xfegast\xc3\xa4-\xc3"), "\\377\\376gast\u{e4}-\\303");
    }

    #[test]
    fn a_problem_takes_one_cache_line_at_most() {
        // A hostile blob holds a million problems; the rare large kinds are boxed for it.
        assert!(std::mem::size_of::<Problem>() <= 64, "{}", std::mem::size_of::<Problem>());
    }

    #[test]
    fn problems_found_from_where_the_last_ended_are_those_looked_up_alone() {
        use crate::model::elided::tests::{decoded, kinds, len_field};
        use crate::model::node::NodeId;
        // Strings that are not UTF-8 (a problem each), some clean, some inside messages,
        // and a stretch of more than eight problems before a clean field.
        let mut bytes = Vec::new();
        for i in 0..40u8 {
            let text: &[u8] = if i % 3 == 0 || (10..22).contains(&i) { &[0xff, i] } else { b"ok" };
            len_field(14, text, &mut bytes);
            let mut inner = Vec::new();
            len_field(2, text, &mut inner);
            len_field(25, &inner, &mut bytes);
        }
        let doc = decoded(&kinds(), &bytes, false);
        let ids: Vec<NodeId> = NodeId::ROOT.up_to(doc.end()).collect();
        assert!(doc.problems().len() > 40, "{} problems", doc.problems().len());
        // In order with one cursor; then every third node, backwards, and from a stale
        // cursor, which must fall back to a search.
        let mut seen = usize::MAX;
        for &id in &ids {
            assert_eq!(doc.problems_of_after(id, &mut seen), doc.problems_of(id), "node {id}");
        }
        for order in [ids.iter().step_by(3).copied().collect::<Vec<_>>(), ids.iter().rev().copied().collect()] {
            let mut seen = 0;
            for id in order {
                assert_eq!(doc.problems_of_after(id, &mut seen), doc.problems_of(id), "node {id}");
            }
        }
    }
}
