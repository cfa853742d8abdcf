//! Two releases' schemas compared under the VMM's restore rules, with no blob: each change,
//! and what it does to old blobs read by new code and to new blobs read by old code (the
//! rollback case).

use prost_reflect::{Kind, MessageDescriptor};

use crate::decode::schema::{FieldInfo, Schema, TypeInfo, kind_name, scalar_wire};
use crate::decode::wire::WireType;

/// What a change does to blobs read by the other side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    /// The restore fails or reads another value.
    Breaks,
    /// The restore drops data.
    LosesData,
    /// Nothing a restore notices (a rename that keeps the wire format, say).
    Info,
}

impl Impact {
    /// The word for it.
    pub fn word(self) -> &'static str {
        match self {
            Impact::Breaks => "breaks",
            Impact::LosesData => "loses data",
            Impact::Info => "info",
        }
    }
}

/// One change between the schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaChange {
    /// A stable name for it, as an allowlist lists it (`field-type chipset.pic.SavedPic.2`).
    pub key: String,
    /// What changed and why it matters.
    pub what: String,
    /// For old blobs read by new code.
    pub old_blobs: Impact,
    /// For new blobs read by old code.
    pub new_blobs: Impact,
}

impl SchemaChange {
    /// The worse of its two impacts.
    pub fn worst(&self) -> Impact {
        self.old_blobs.min(self.new_blobs)
    }
}

/// Every change from `old` to `new` in the messages and enums their own files declare.
pub fn schema_changes(old: &Schema, new: &Schema) -> Vec<SchemaChange> {
    let mut found = Vec::new();
    let own = |schema: &Schema| -> Vec<MessageDescriptor> {
        schema.pool.all_messages().filter(|m| schema.is_root_candidate(m) && !m.is_map_entry()).collect()
    };
    let (olds, news) = (own(old), own(new));
    for m in &olds {
        match new.pool.get_message_by_name(m.full_name()) {
            Some(n) => fields(&old.type_info(m.clone()), &new.type_info(n), &mut found),
            None => found.push(removed_message(old, new, m, &olds)),
        }
    }
    for n in news.iter().filter(|n| old.pool.get_message_by_name(n.full_name()).is_none()) {
        if !olds.iter().any(|m| is_rename(old, new, m, n)) {
            found.push(SchemaChange {
                key: format!("message-added {}", n.full_name()),
                what: format!("message {} added", n.full_name()),
                old_blobs: Impact::Info,
                new_blobs: Impact::Info,
            });
        }
    }
    enums(old, new, &mut found);
    found
}

/// A message the new schema lacks: renamed (same fields) or removed. Either way an Any
/// holding it names a type URL the other side does not declare.
fn removed_message(old: &Schema, new: &Schema, m: &MessageDescriptor, olds: &[MessageDescriptor]) -> SchemaChange {
    let renamed = new.pool.all_messages().find(|n| {
        new.is_root_candidate(n) && !olds.iter().any(|o| o.full_name() == n.full_name()) && is_rename(old, new, m, n)
    });
    match renamed {
        Some(n) => SchemaChange {
            key: format!("message-renamed {}", m.full_name()),
            what: format!(
                "message {} renamed {}: the wire format is kept, but an Any holding it has another type URL \
                 (protobuf type mismatch)",
                m.full_name(),
                n.full_name()
            ),
            old_blobs: Impact::Breaks,
            new_blobs: Impact::Breaks,
        },
        None => SchemaChange {
            key: format!("message-removed {}", m.full_name()),
            what: format!("message {} removed: an Any holding it no longer resolves", m.full_name()),
            old_blobs: Impact::Breaks,
            new_blobs: Impact::Info,
        },
    }
}

/// Whether `n` is `m` under another name: the same fields (numbers and encodings), and the
/// same simple name or at least three fields (so two small look-alikes are not taken for
/// one).
fn is_rename(old: &Schema, new: &Schema, m: &MessageDescriptor, n: &MessageDescriptor) -> bool {
    let (a, b) = (old.type_info(m.clone()), new.type_info(n.clone()));
    let same_fields = a.fields.len() == b.fields.len()
        && a.fields.iter().zip(&b.fields).all(|(x, y)| x.number == y.number && encoding(x) == encoding(y));
    same_fields && (m.name() == n.name() || a.fields.len() >= 3)
}

/// How a field is written: its wire type (packed runs are length-delimited) and, for
/// scalars, how its value is read.
fn encoding(f: &FieldInfo) -> (WireType, String) {
    let wire = match scalar_wire(&f.kind) {
        Some(_) if f.is_list && f.packed_only => WireType::Len,
        Some(w) => w,
        None => WireType::Len,
    };
    let read = match &f.kind {
        Kind::Message(_) | Kind::String | Kind::Bytes => String::new(),
        kind => kind_name(kind),
    };
    (wire, read)
}

/// The changes of one message's fields.
fn fields(a: &TypeInfo, b: &TypeInfo, found: &mut Vec<SchemaChange>) {
    let name = &a.name;
    for x in &a.fields {
        let id = format!("{name}.{}", x.number);
        let Some(y) = b.field(x.number) else {
            let (what, old_blobs, new_blobs) = if a.enum_like {
                ("oneof variant", Impact::Breaks, Impact::Info)
            } else if x.packed_only {
                ("required fixed array", Impact::LosesData, Impact::Breaks)
            } else {
                ("field", Impact::LosesData, Impact::Info)
            };
            let consequence = if a.enum_like {
                "an old blob holding it fails with \"missing enum variant\""
            } else if x.packed_only {
                "old blobs' values are dropped; old code requires it of new blobs (\"missing required field\")"
            } else {
                "old blobs' values are dropped on restore"
            };
            found.push(SchemaChange {
                key: format!("field-removed {id}"),
                what: format!("{what} {name}.{} ({}) removed: {consequence}", x.name, x.number),
                old_blobs,
                new_blobs,
            });
            continue;
        };
        let (ex, ey) = (encoding(x), encoding(y));
        if ex.0 != ey.0 {
            found.push(SchemaChange {
                key: format!("field-wire {id}"),
                what: format!(
                    "field {name}.{} ({}) is {} (was {}): written with another wire type, which the reader \
                     rejects ({})",
                    y.name,
                    x.number,
                    y.type_name,
                    x.type_name,
                    y.class.vmm_expects()
                ),
                old_blobs: Impact::Breaks,
                new_blobs: Impact::Breaks,
            });
        } else if ex.1 != ey.1 {
            found.push(SchemaChange {
                key: format!("field-type {id}"),
                what: format!(
                    "field {name}.{} ({}) is {} (was {}): the same bytes read as another value",
                    y.name, x.number, y.type_name, x.type_name
                ),
                old_blobs: Impact::Breaks,
                new_blobs: Impact::Breaks,
            });
        } else if x.type_name != y.type_name {
            found.push(SchemaChange {
                key: format!("field-retyped {id}"),
                what: format!("field {name}.{} ({}) is {} (was {})", y.name, x.number, y.type_name, x.type_name),
                old_blobs: Impact::Info,
                new_blobs: Impact::Info,
            });
        }
        if y.packed_only && !x.packed_only {
            found.push(SchemaChange {
                key: format!("field-required {id}"),
                what: format!(
                    "field {name}.{} ({}) is now a required fixed array: old blobs without it fail (\"missing \
                     required field\")",
                    y.name, x.number
                ),
                old_blobs: Impact::Breaks,
                new_blobs: Impact::Info,
            });
        }
        if x.name != y.name {
            found.push(SchemaChange {
                key: format!("field-renamed {id}"),
                what: format!("field {name}.{} ({}) renamed {}: the wire format is kept", x.name, x.number, y.name),
                old_blobs: Impact::Info,
                new_blobs: Impact::Info,
            });
        }
    }
    for y in b.fields.iter().filter(|y| a.field(y.number).is_none()) {
        let id = format!("{name}.{}", y.number);
        let (what, old_blobs, new_blobs, consequence) = if b.enum_like {
            (
                "oneof variant",
                Impact::Info,
                Impact::Breaks,
                "a new blob holding it fails old code (\"missing enum variant\")",
            )
        } else if y.packed_only {
            (
                "required fixed array",
                Impact::Breaks,
                Impact::LosesData,
                "old blobs lack it (\"missing required field\"); old code drops it from new blobs",
            )
        } else {
            ("field", Impact::Info, Impact::LosesData, "old code drops it from new blobs")
        };
        found.push(SchemaChange {
            key: format!("field-added {id}"),
            what: format!("{what} {name}.{} ({}) added: {consequence}", y.name, y.number),
            old_blobs,
            new_blobs,
        });
    }
}

/// Enum values removed (old blobs may hold them) or added (new blobs may).
fn enums(old: &Schema, new: &Schema, found: &mut Vec<SchemaChange>) {
    for e in old.pool.all_enums().filter(|e| !e.full_name().starts_with("google.")) {
        let Some(n) = new.pool.get_enum_by_name(e.full_name()) else { continue };
        for v in e.values().filter(|v| n.get_value(v.number()).is_none()) {
            found.push(SchemaChange {
                key: format!("enum-value-removed {}.{}", e.full_name(), v.number()),
                what: format!(
                    "enum {} value {} ({}) removed: old blobs holding it fail",
                    e.full_name(),
                    v.name(),
                    v.number()
                ),
                old_blobs: Impact::Breaks,
                new_blobs: Impact::Info,
            });
        }
        for v in n.values().filter(|v| e.get_value(v.number()).is_none()) {
            found.push(SchemaChange {
                key: format!("enum-value-added {}.{}", e.full_name(), v.number()),
                what: format!(
                    "enum {} value {} ({}) added: new blobs holding it fail old code",
                    e.full_name(),
                    v.name(),
                    v.number()
                ),
                old_blobs: Impact::Info,
                new_blobs: Impact::Breaks,
            });
        }
    }
}
