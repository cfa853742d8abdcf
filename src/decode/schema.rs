//! What the overlay needs to know about message types beyond the descriptors themselves:
//! which types are Any, which are Rust-style enums, and which fields the reader requires.

use std::collections::{HashMap, HashSet};

use prost_reflect::{DescriptorPool, MessageDescriptor};

/// The full name of `google.protobuf.Any`.
pub const ANY_TYPE: &str = "google.protobuf.Any";
/// The prefix every type URL this tool writes carries.
pub const TYPE_URL_PREFIX: &str = "type.googleapis.com/";
/// The marker the VMM's schema writer puts after a fixed array of scalars.
const PACKED_ONLY_MARKER: &str = "packed repr only";

/// A descriptor pool plus the facts the pool's comments and shapes imply.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Every registered descriptor.
    pub pool: DescriptorPool,
    /// Full names of fields marked `// packed repr only` (fixed arrays of scalars).
    packed_only: HashSet<String>,
}

/// One message type as the overlay uses it, interned per document.
#[derive(Debug, Clone)]
pub struct TypeInfo {
    /// The descriptor.
    pub desc: MessageDescriptor,
    /// Whether this is `google.protobuf.Any`.
    pub is_any: bool,
    /// Whether this is a Rust enum: all fields in one oneof, so exactly one must be set.
    pub enum_like: bool,
    /// Fields that are fixed arrays of scalars, written packed only. The reader requires
    /// them: absent means "missing required field".
    pub packed_only: Vec<u32>,
}

impl Schema {
    /// Wraps a pool, reading the packed-only markers from its source comments.
    pub fn new(pool: DescriptorPool) -> Self {
        let mut packed_only = HashSet::new();
        for file in pool.files() {
            let Some(info) = &file.file_descriptor_proto().source_code_info else {
                continue;
            };
            let marked: HashSet<&[i32]> = info
                .location
                .iter()
                .filter(|l| {
                    l.trailing_comments().contains(PACKED_ONLY_MARKER)
                        || l.leading_comments().contains(PACKED_ONLY_MARKER)
                })
                .map(|l| l.path.as_slice())
                .collect();
            if marked.is_empty() {
                continue;
            }
            for message in file.messages().flat_map(|m| all_nested(&m)) {
                for field in message.fields() {
                    if marked.contains(field.path()) {
                        packed_only.insert(field.full_name().to_owned());
                    }
                }
            }
        }
        Schema { pool, packed_only }
    }

    /// Looks up the message a type URL names (`…/package.Name`, or a bare full name).
    pub fn resolve_type_url(&self, url: &str) -> Option<MessageDescriptor> {
        let name = url.rsplit_once('/').map_or(url, |(_, name)| name);
        self.pool.get_message_by_name(name)
    }

    /// Builds the overlay's facts about one message type.
    pub fn type_info(&self, desc: MessageDescriptor) -> TypeInfo {
        let packed_only = desc
            .fields()
            .filter(|f| self.packed_only.contains(f.full_name()))
            .map(|f| f.number())
            .collect();
        TypeInfo {
            is_any: desc.full_name() == ANY_TYPE,
            enum_like: is_enum_like(&desc),
            desc,
            packed_only,
        }
    }
}

fn all_nested(message: &MessageDescriptor) -> Vec<MessageDescriptor> {
    let mut out = vec![message.clone()];
    let mut i = 0;
    while i < out.len() {
        let nested: Vec<_> = out[i].child_messages().collect();
        out.extend(nested);
        i += 1;
    }
    out
}

/// A Rust enum as mesh writes it: one `oneof variant` holding every field. A field of such
/// a type may be absent (an `Option`), but when present exactly one variant must be set.
pub fn is_enum_like(desc: &MessageDescriptor) -> bool {
    let mut oneofs = desc.oneofs();
    let (Some(oneof), None) = (oneofs.next(), oneofs.next()) else {
        return false;
    };
    oneof.name() == "variant"
        && !oneof.is_synthetic()
        && desc.fields().len() > 0
        && desc.fields().all(|f| f.containing_oneof().is_some())
}

/// Interns message types for one document: each distinct type is analysed once.
#[derive(Debug, Default)]
pub struct TypeTable {
    /// The interned types, indexed by the `ty` of nodes.
    pub types: Vec<TypeInfo>,
    by_name: HashMap<String, u32>,
}

impl TypeTable {
    /// The index of `desc`, analysing it the first time.
    pub fn intern(&mut self, schema: &Schema, desc: &MessageDescriptor) -> u32 {
        if let Some(&i) = self.by_name.get(desc.full_name()) {
            return i;
        }
        let i = self.types.len() as u32;
        self.types.push(schema.type_info(desc.clone()));
        self.by_name.insert(desc.full_name().to_owned(), i);
        i
    }
}
