//! What the overlay needs to know about message types beyond the descriptors themselves:
//! which types are Any, which are Rust-style enums, and which fields the reader requires.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor, OneofDescriptor};

use crate::decode::registry::{Collision, SchemaError, SchemaSources, build_pool};
use crate::decode::wire::WireType;

/// A message type's place in a document's [`TypeTable`]. Stored as the index plus one, so
/// that an `Option<TypeIndex>` takes no more room than the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeIndex(NonZeroU32);

impl TypeIndex {
    /// The most message types a schema may declare: a stored node holds its type's index
    /// in 20 bits.
    pub const MOST: usize = (1 << 20) - 2;

    pub(crate) fn from_index(index: usize) -> TypeIndex {
        let stored = u32::try_from(index).ok().and_then(|i| i.checked_add(1)).and_then(NonZeroU32::new);
        TypeIndex(stored.expect("type indices fit in 32 bits"))
    }

    /// The index plus one, as a node record holds it.
    pub(crate) fn to_raw(self) -> u32 {
        self.0.get()
    }

    /// The type a node record holds (0 for none).
    pub(crate) fn from_raw(raw: u32) -> Option<TypeIndex> {
        NonZeroU32::new(raw).map(TypeIndex)
    }

    /// The type's place in its table.
    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }
}

/// The full name of `google.protobuf.Any`.
pub const ANY_TYPE: &str = "google.protobuf.Any";
/// What every type URL the VMM writes starts with; it compares URLs whole.
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
    /// Registered files left out of the pool because they collide with another.
    collisions: Vec<Collision>,
    /// Files the user named (with their imports); empty when only registered sets are in.
    user_files: HashSet<String>,
    /// Each type analysed so far, shared by every document decoded with this schema (a
    /// search for a likely cause decodes thousands of small trial documents).
    analysed: Arc<std::sync::Mutex<HashMap<String, Arc<TypeInfo>>>>,
    /// The type URL of every message, by length, made when first asked for and shared as
    /// `analysed` is: each trial decode of a search for a cause that meets an unknown URL
    /// looks among them.
    urls_by_len: Arc<std::sync::OnceLock<HashMap<usize, Vec<String>>>>,
}

/// How a declared field is read from the wire.
#[derive(Debug, Clone)]
pub enum FieldClass {
    /// A nested message (or group) of this type.
    Message(MessageDescriptor),
    /// A UTF-8 string.
    String,
    /// Bytes.
    Bytes,
    /// A scalar written with this wire type (packable when repeated).
    Scalar(WireType),
}

impl FieldClass {
    /// What the restoring VMM (OpenVMM's mesh_protobuf, `DecodeErrorKind` in
    /// support/mesh/mesh_protobuf/src/lib.rs) says when a field of this class is written
    /// with another wire type.
    pub fn vmm_expects(&self) -> &'static str {
        match self {
            FieldClass::Message(_) => "expected a message",
            FieldClass::String | FieldClass::Bytes => "expected a byte array",
            FieldClass::Scalar(WireType::Fixed32) => "expected a fixed32",
            FieldClass::Scalar(WireType::Fixed64) => "expected a fixed64",
            FieldClass::Scalar(_) => "expected a varint",
        }
    }
}

/// One declared field, precomputed so the hot decoding and rendering paths do not go
/// through descriptor lookups.
#[derive(Debug, Clone)]
pub struct FieldInfo {
    /// The descriptor, for everything else.
    pub desc: FieldDescriptor,
    /// The field number.
    pub number: u32,
    /// The field name.
    pub name: String,
    /// The declared type as a `.proto` names it (`uint32`, `chipset.pit.SavedState`, …).
    pub type_name: String,
    /// How it is read.
    pub class: FieldClass,
    /// The declared kind (for enum names and scalar interpretation).
    pub kind: Kind,
    /// Its name in canonical JSON (lowerCamelCase unless the `.proto` says otherwise).
    pub json_name: String,
    /// Whether it is `repeated` (maps included).
    pub is_list: bool,
    /// Whether it is a map.
    pub is_map: bool,
    /// The oneof it belongs to, unless that is the one a proto3 `optional` makes.
    pub oneof: Option<OneofDescriptor>,
    /// Whether it is a proto2 group.
    pub is_group: bool,
    /// Whether it is a packed-only fixed array.
    pub packed_only: bool,
    /// Whether zero values are omitted (proto3 implicit presence).
    pub implicit: bool,
    /// For varint fields narrower than 64 bits, the values that fit.
    pub range: Option<VarintRange>,
}

/// The values a narrow varint field can hold; a wider varint is an invalid saved state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarintRange {
    /// `uint32`, `sint32` (zigzag): at most 2^32-1.
    Unsigned32,
    /// `int32` and enums: a 32-bit value, negative ones sign-extended to 64 bits.
    Signed32,
    /// `bool`: 0 or 1.
    Bool,
}

impl VarintRange {
    /// Whether a varint of this range may hold `value`.
    pub fn holds(self, value: u64) -> bool {
        match self {
            VarintRange::Unsigned32 => value <= u64::from(u32::MAX),
            VarintRange::Signed32 => value <= i32::MAX as u64 || value >= i32::MIN as i64 as u64,
            VarintRange::Bool => value <= 1,
        }
    }

    /// The declared type, for messages.
    pub fn type_name(self) -> &'static str {
        match self {
            VarintRange::Unsigned32 => "a 32-bit unsigned field",
            VarintRange::Signed32 => "a 32-bit signed field",
            VarintRange::Bool => "a bool",
        }
    }
}

/// One message type as the overlay uses it, interned per document.
#[derive(Debug, Clone)]
pub struct TypeInfo {
    /// The descriptor.
    pub desc: MessageDescriptor,
    /// Its full name, shared by every problem that names it.
    pub name: Arc<str>,
    /// Whether this is `google.protobuf.Any`.
    pub is_any: bool,
    /// Whether this is a Rust enum: all fields in one oneof, so exactly one must be set.
    pub enum_like: bool,
    /// Whether this is a VMM state unit: `state_unit.SavedStateUnit`, a name and an Any.
    pub is_state_unit: bool,
    /// Declared fields, sorted by number.
    pub fields: Vec<FieldInfo>,
    /// For each field number up to the highest declared, its place in `fields` plus one
    /// (0 for none), where that highest is small: a field is then found by one look, not
    /// a binary search over numbers with gaps (an eighth of writing the tree's rows).
    places: Box<[u16]>,
    /// For each field number below 16 (a one-byte tag), whether it is declared a varint
    /// scalar, and the values it may hold ([`TypeInfo::varint_under_short_tag`]).
    short_varints: [Option<Option<VarintRange>>; 16],
    /// Fields that are fixed arrays of scalars, written packed only. The reader requires
    /// them: absent means "missing required field".
    pub packed_only: Vec<u32>,
    /// Whether every field is a scalar, string or bytes, none a fixed array, and this is
    /// no Any and no enum: a clean one is skimmed in one flat loop.
    pub leaves_only: bool,
    /// Whether every field is a number (an integer, a float, a bool or an enum) or a
    /// message of such fields all the way down (no Any, string, bytes, group or map, nor
    /// a type met again below itself): a browsed document leaves a clean one's subtree
    /// unstored, and a search reads it from its bytes.
    pub numbers_only: bool,
}

impl TypeInfo {
    /// The position in `fields` of field `number`.
    pub fn field_index(&self, number: u32) -> Option<usize> {
        // A table covers every number up to the highest declared: past it, none is.
        if !self.places.is_empty() {
            return self.places.get(number as usize).and_then(|&place| usize::from(place).checked_sub(1));
        }
        self.fields.binary_search_by_key(&number, |f| f.number).ok()
    }

    /// Whether a message of this type is built in one flat loop when it reads clean: it
    /// holds leaves only and is no state unit (whose name is checked).
    pub fn built_flat(&self) -> bool {
        self.leaves_only && !self.is_state_unit
    }

    /// The declared field with this number.
    pub fn field(&self, number: u32) -> Option<&FieldInfo> {
        self.field_index(number).map(|i| &self.fields[i])
    }

    /// For a one-byte tag of a varint, the values its field may hold when this type
    /// declares it a varint scalar (`Some(None)`: any); `None` for any other tag. One
    /// look, where [`Self::field`] takes three dependent ones: a clean run of small
    /// messages asks it of each of its leaves.
    #[inline(always)]
    pub fn varint_under_short_tag(&self, tag: u8) -> Option<Option<VarintRange>> {
        if tag >= 0x80 || tag & 7 != WireType::Varint as u8 {
            return None;
        }
        self.short_varints[usize::from(tag >> 3)]
    }
}

/// [`TypeInfo::varint_under_short_tag`]'s table for `fields`.
fn short_varints(fields: &[FieldInfo]) -> [Option<Option<VarintRange>>; 16] {
    let mut table = [None; 16];
    for field in fields.iter().filter(|f| f.number < 16) {
        if matches!(field.class, FieldClass::Scalar(WireType::Varint)) {
            table[field.number as usize] = Some(field.range);
        }
    }
    table
}

/// The highest field number given a table of places ([`TypeInfo::field_index`]).
const MOST_PLACES: u32 = 1024;

/// The place plus one of each field number of `fields` (sorted by number) up to the
/// highest, or none where that is above [`MOST_PLACES`].
fn places_by_number(fields: &[FieldInfo]) -> Box<[u16]> {
    let Some(highest) = fields.last().map(|f| f.number).filter(|&n| n <= MOST_PLACES) else { return Box::new([]) };
    let mut places = vec![0u16; highest as usize + 1];
    for (place, field) in fields.iter().enumerate() {
        places[field.number as usize] = place as u16 + 1;
    }
    places.into_boxed_slice()
}

impl Schema {
    /// Loads the registered descriptor sets plus the user's `sources`
    /// (from files, folders and descriptor sets), keeping the collisions met on the way.
    pub fn load(sources: &SchemaSources) -> Result<Self, SchemaError> {
        let built = build_pool(sources)?;
        let types = built.pool.all_messages().count();
        if types > TypeIndex::MOST {
            return Err(SchemaError::TooLarge(format!(
                "the schemas declare {types} message types; statescope holds at most {}: load only the \
                 schema folders this state needs",
                TypeIndex::MOST
            )));
        }
        Ok(Schema { collisions: built.collisions, user_files: built.user_files, ..Schema::new(built.pool) })
    }

    /// Whether the user named schemas of their own (a folder, files, descriptor sets).
    pub fn has_user_schemas(&self) -> bool {
        !self.user_files.is_empty()
    }

    /// Registered files left out of the pool, each a warning worth showing.
    pub fn collisions(&self) -> &[Collision] {
        &self.collisions
    }

    /// Whether a root type for the user's blob should come from this message's file: any
    /// file when the user named no schema, else only the files the user named, so that
    /// the built-in samples never stand in for the user's own schema.
    pub fn is_root_candidate(&self, desc: &MessageDescriptor) -> bool {
        self.user_files.is_empty() || self.user_files.contains(desc.parent_file().name())
    }

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
        Schema {
            pool,
            packed_only,
            collisions: Vec::new(),
            user_files: HashSet::new(),
            analysed: Arc::default(),
            urls_by_len: Arc::default(),
        }
    }

    /// Looks up the message a type URL names (`…/package.Name`, or a bare full name).
    pub fn resolve_type_url(&self, url: &str) -> Option<MessageDescriptor> {
        let name = url.rsplit_once('/').map_or(url, |(_, name)| name);
        self.pool.get_message_by_name(name)
    }

    /// The type URL of every message (`type.googleapis.com/` and its full name) that has
    /// `len` bytes.
    pub fn urls_of_len(&self, len: usize) -> &[String] {
        let by_len = self.urls_by_len.get_or_init(|| {
            let mut by_len: HashMap<usize, Vec<String>> = HashMap::new();
            for m in self.pool.all_messages() {
                let url = format!("{TYPE_URL_PREFIX}{}", m.full_name());
                by_len.entry(url.len()).or_default().push(url);
            }
            by_len
        });
        by_len.get(&len).map_or(&[], Vec::as_slice)
    }

    /// The overlay's facts about one message type, analysed once for this schema.
    pub fn analysed(&self, desc: &MessageDescriptor) -> Arc<TypeInfo> {
        let mut analysed = self.analysed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(info) = analysed.get(desc.full_name()) {
            return Arc::clone(info);
        }
        let info = Arc::new(self.type_info(desc.clone()));
        analysed.insert(desc.full_name().to_owned(), Arc::clone(&info));
        info
    }

    /// Builds the overlay's facts about one message type.
    pub fn type_info(&self, desc: MessageDescriptor) -> TypeInfo {
        let mut fields: Vec<FieldInfo> = desc.fields().map(|f| self.field_info(f)).collect();
        fields.sort_by_key(|f| f.number);
        let packed_only: Vec<u32> = fields.iter().filter(|f| f.packed_only).map(|f| f.number).collect();
        let (is_any, enum_like) = (desc.full_name() == ANY_TYPE, is_enum_like(&desc));
        let leaf = |f: &FieldInfo| matches!(f.class, FieldClass::Scalar(_) | FieldClass::String | FieldClass::Bytes);
        TypeInfo {
            places: places_by_number(&fields),
            short_varints: short_varints(&fields),
            name: desc.full_name().into(),
            leaves_only: !is_any && !enum_like && packed_only.is_empty() && fields.iter().all(leaf),
            numbers_only: numbers_only(&desc),
            is_any,
            enum_like,
            is_state_unit: is_state_unit(&desc),
            desc,
            fields,
            packed_only,
        }
    }

    fn field_info(&self, desc: FieldDescriptor) -> FieldInfo {
        let kind = desc.kind();
        let range = match kind {
            Kind::Uint32 | Kind::Sint32 => Some(VarintRange::Unsigned32),
            Kind::Int32 | Kind::Enum(_) => Some(VarintRange::Signed32),
            Kind::Bool => Some(VarintRange::Bool),
            _ => None,
        };
        let class = match &kind {
            Kind::Message(m) => FieldClass::Message(m.clone()),
            Kind::String => FieldClass::String,
            Kind::Bytes => FieldClass::Bytes,
            other => FieldClass::Scalar(scalar_wire(other).expect("every other kind is a scalar")),
        };
        FieldInfo {
            number: desc.number(),
            name: desc.name().to_owned(),
            type_name: kind_name(&kind),
            class,
            kind,
            json_name: desc.json_name().to_owned(),
            is_list: desc.is_list() || desc.is_map(),
            is_map: desc.is_map(),
            oneof: desc.containing_oneof().filter(|o| !o.is_synthetic()),
            is_group: desc.is_group(),
            packed_only: self.packed_only.contains(desc.full_name()),
            implicit: !desc.supports_presence() && !desc.is_list() && !desc.is_map(),
            range,
            desc,
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

/// Whether a message type is a VMM state unit (`state_unit.SavedStateUnit`, a name and an
/// Any), in the VMM's own package or another of that name.
pub fn is_state_unit(desc: &MessageDescriptor) -> bool {
    desc.name() == "SavedStateUnit" && desc.package_name().rsplit('.').next() == Some("state_unit")
}

/// Whether every field of `desc` is a number or a message whose fields are, all the way
/// down ([`TypeInfo::numbers_only`]).
fn numbers_only(desc: &MessageDescriptor) -> bool {
    numbers_only_below(desc, &mut Vec::new(), &mut HashMap::new())
}

/// [`numbers_only`] of `desc`, below the types `within`, with the answers for the types
/// done so far in `done`. An answer does not depend on the path to a type (a type that
/// meets itself again below is no, however it is reached), so each type is judged once:
/// a schema whose types each hold the next twice would otherwise be judged along every
/// one of its exponentially many paths.
fn numbers_only_below(
    desc: &MessageDescriptor,
    within: &mut Vec<MessageDescriptor>,
    done: &mut HashMap<String, bool>,
) -> bool {
    if let Some(&known) = done.get(desc.full_name()) {
        return known;
    }
    if desc.full_name() == ANY_TYPE || within.contains(desc) {
        return false;
    }
    within.push(desc.clone());
    let all = desc.fields().all(|field| match field.kind() {
        Kind::Message(child) => !field.is_map() && !field.is_group() && numbers_only_below(&child, within, done),
        Kind::String | Kind::Bytes => false,
        _ => true,
    });
    within.pop();
    done.insert(desc.full_name().to_owned(), all);
    all
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

/// Interns message types for one document: each distinct type is analysed once per
/// schema ([`Schema::analysed`]), and the type of each message field is looked up once
/// per document.
#[derive(Debug, Clone, Default)]
pub struct TypeTable {
    types: Vec<Arc<TypeInfo>>,
    /// The interned type of each message field of each type, once looked up.
    children: Vec<Vec<Option<TypeIndex>>>,
    by_name: HashMap<String, TypeIndex>,
}

impl TypeTable {
    /// The index of `desc`, interning it the first time.
    pub fn intern(&mut self, schema: &Schema, desc: &MessageDescriptor) -> TypeIndex {
        if let Some(&i) = self.by_name.get(desc.full_name()) {
            return i;
        }
        let i = TypeIndex::from_index(self.types.len());
        let info = schema.analysed(desc);
        self.children.push(vec![None; info.fields.len()]);
        self.types.push(info);
        self.by_name.insert(desc.full_name().to_owned(), i);
        i
    }

    /// The index of the type named `full_name`, if it was interned.
    pub fn find(&self, full_name: &str) -> Option<TypeIndex> {
        self.by_name.get(full_name).copied()
    }

    /// The facts of an interned type.
    pub fn get(&self, ty: TypeIndex) -> &TypeInfo {
        &self.types[ty.index()]
    }

    /// The interned type of message field `field_index` of `ty`, if looked up before.
    pub fn child(&self, ty: TypeIndex, field_index: usize) -> Option<TypeIndex> {
        self.children[ty.index()][field_index]
    }

    /// Remembers the interned type of message field `field_index` of `ty`.
    pub fn set_child(&mut self, ty: TypeIndex, field_index: usize, child: TypeIndex) {
        self.children[ty.index()][field_index] = Some(child);
    }
}

/// The wire type a scalar kind is written with, or `None` for strings, bytes and messages.
pub fn scalar_wire(kind: &Kind) -> Option<WireType> {
    Some(match kind {
        Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Sint32 | Kind::Sint64 => WireType::Varint,
        Kind::Bool | Kind::Enum(_) => WireType::Varint,
        Kind::Fixed32 | Kind::Sfixed32 | Kind::Float => WireType::Fixed32,
        Kind::Fixed64 | Kind::Sfixed64 | Kind::Double => WireType::Fixed64,
        Kind::String | Kind::Bytes | Kind::Message(_) => return None,
    })
}

/// The protobuf name of a field kind (`uint32`, `string`, a message's full name, …).
pub fn kind_name(kind: &Kind) -> String {
    let name = match kind {
        Kind::Double => "double",
        Kind::Float => "float",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Uint32 => "uint32",
        Kind::Uint64 => "uint64",
        Kind::Sint32 => "sint32",
        Kind::Sint64 => "sint64",
        Kind::Fixed32 => "fixed32",
        Kind::Fixed64 => "fixed64",
        Kind::Sfixed32 => "sfixed32",
        Kind::Sfixed64 => "sfixed64",
        Kind::Bool => "bool",
        Kind::String => "string",
        Kind::Bytes => "bytes",
        Kind::Message(m) => return m.full_name().to_owned(),
        Kind::Enum(e) => return e.full_name().to_owned(),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Schema {
        Schema::load(&SchemaSources::default()).unwrap()
    }

    fn info(schema: &Schema, name: &str) -> TypeInfo {
        schema.type_info(schema.pool.get_message_by_name(name).unwrap())
    }

    #[test]
    fn a_type_of_numbers_is_judged_once_for_each_type_below_it() {
        // Forty types, each holding the next twice: 2^40 paths to the last, judged once.
        let dir = tempfile::tempdir().unwrap();
        for last in ["uint32 value = 1;", "string value = 1;"] {
            let mut proto = String::from("syntax = \"proto3\";\npackage chain;\n");
            for i in 0..40 {
                proto += &format!("message T{i} {{ T{next} a = 1; T{next} b = 2; sint64 c = 3; }}\n", next = i + 1);
            }
            proto += &format!("message T40 {{ {last} }}\n");
            let path = dir.path().join("chain.proto");
            std::fs::write(&path, proto).unwrap();
            let schema = Schema::load(&SchemaSources { proto_files: vec![path], ..SchemaSources::default() }).unwrap();
            assert_eq!(info(&schema, "chain.T0").numbers_only, last.starts_with("uint32"), "{last}");
        }
        let samples = samples();
        assert!(info(&samples, "sample.virt.x86.VpSavedState").numbers_only);
        assert!(!info(&samples, "sample.partition.Partition").numbers_only, "holds an Any");
    }

    #[test]
    fn a_field_is_found_by_its_number_across_gaps_with_or_without_a_table() {
        let schema = samples();
        let with_table = info(&schema, "sample.virt.x86.Registers");
        assert!(!with_table.places.is_empty(), "numbered up to 34: looked up in a table");
        let without = TypeInfo { places: Box::new([]), ..with_table.clone() };
        for number in 0..40 {
            let declared = with_table.fields.iter().position(|f| f.number == number);
            assert_eq!(with_table.field_index(number), declared, "field {number}");
            assert_eq!(without.field_index(number), declared, "field {number}, searched");
        }
        assert!(with_table.field_index(17).is_some() && with_table.field_index(9).is_none(), "the gap is seen");
        assert_eq!(with_table.field_index(u32::MAX), None);
    }

    #[test]
    fn a_varint_under_a_one_byte_tag_is_told_by_one_look_as_the_field_lookup_tells_it() {
        let schema = samples();
        let mut varints = 0;
        for desc in schema.pool.all_messages() {
            let info = schema.type_info(desc);
            for tag in 0..=u8::MAX {
                let looked_up = (tag < 0x80 && tag & 7 == 0)
                    .then(|| info.field(u32::from(tag >> 3)))
                    .flatten()
                    .filter(|f| matches!(f.class, FieldClass::Scalar(WireType::Varint)))
                    .map(|f| f.range);
                assert_eq!(info.varint_under_short_tag(tag), looked_up, "{} tag {tag:#x}", info.name);
                varints += usize::from(looked_up.is_some());
            }
        }
        assert!(varints > 50, "{varints} varint fields under one-byte tags");
    }

    #[test]
    fn rust_enums_are_messages_of_one_variant_oneof() {
        let schema = samples();
        assert!(info(&schema, "sample.chipset.pit.SavedCountState").enum_like);
        assert!(!info(&schema, "sample.chipset.pit.SavedTimerState").enum_like, "an optional field is no enum");
        assert!(info(&schema, "google.protobuf.Any").is_any);
    }

    #[test]
    fn packed_repr_only_comments_mark_required_fixed_arrays() {
        let schema = samples();
        let ioapic = info(&schema, "sample.chipset.ioapic.SavedState");
        assert_eq!(ioapic.packed_only, [3]);
        assert!(ioapic.field(3).unwrap().packed_only && !ioapic.field(1).unwrap().packed_only);
    }

    #[test]
    fn narrow_varints_know_their_range_and_fields_their_class() {
        let schema = samples();
        let timer = info(&schema, "sample.chipset.pit.SavedTimerState");
        let by_name = |name: &str| timer.fields.iter().find(|f| f.name == name).unwrap().clone();
        assert_eq!(by_name("cr").range, Some(VarintRange::Unsigned32));
        assert_eq!(by_name("gate").range, Some(VarintRange::Bool));
        assert!(matches!(by_name("state").class, FieldClass::Message(_)));
        let pit = info(&schema, "sample.chipset.pit.SavedState");
        assert_eq!(pit.field(2).unwrap().range, None, "uint64 takes any varint");
        assert_eq!(pit.field(2).unwrap().type_name, "uint64");
        assert!(pit.field_index(99).is_none());
    }

    #[test]
    fn type_urls_resolve_by_their_last_segment() {
        let schema = samples();
        for url in
            ["type.googleapis.com/sample.vmtime.SavedState", "x/sample.vmtime.SavedState", "sample.vmtime.SavedState"]
        {
            assert!(schema.resolve_type_url(url).is_some(), "{url}");
        }
        assert!(schema.resolve_type_url("type.googleapis.com/vmtime.SavedState").is_none());
    }

    #[test]
    fn interning_analyses_each_type_once() {
        let schema = samples();
        let mut table = TypeTable::default();
        let pit = schema.pool.get_message_by_name("sample.chipset.pit.SavedState").unwrap();
        let a = table.intern(&schema, &pit);
        let b = table.intern(&schema, &pit);
        assert_eq!(a, b);
        assert_eq!(table.get(a).desc.full_name(), "sample.chipset.pit.SavedState");
    }
}
