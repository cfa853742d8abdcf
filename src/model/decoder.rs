//! The one entry point for decoding: a [`Decoder`] holds the schema, the root type and the
//! limits, and turns bytes into a [`Document`], whole or streamed a top-level field at a
//! time.

use std::sync::Arc;

use prost_reflect::MessageDescriptor;

use crate::decode::schema::{ANY_TYPE, Schema, TypeTable};
use crate::model::builder::Builder;
use crate::model::document::Document;
use crate::model::node::NodeId;
use crate::model::overlay;
use crate::model::source::Source;

/// Bounds on nesting, so that hostile input cannot exhaust time or memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest message nesting decoded; deeper values are shown raw.
    pub max_depth: u32,
    /// Deepest chain of Any inside Any decoded; deeper payloads are shown raw.
    pub max_any_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 100, max_any_depth: 32 }
    }
}

/// Called with the first of the top-level fields (children of the root) whose subtrees
/// are complete, a few hundred nodes of them at a time: the hook reads every one from
/// there to the document's end ([`Document::top_level_from`]); they are then dropped from
/// the document. An error stops the decode.
pub type TopLevelHook<'h> = &'h mut dyn FnMut(&Document, NodeId) -> std::io::Result<()>;

/// Which top-level fields a decode builds nodes for. The others are read past (and
/// counted, so the indices of those that are built stay right) but get no nodes, so an
/// edit of one unit of a huge blob does not need a node for every field of the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Focus {
    fields: Vec<(u32, Option<u32>)>,
    /// Top-level repeated scalar fields of which one value alone gets a node in a packed
    /// run: a run of millions then costs no node per value.
    values: Vec<(u32, u32)>,
    /// Whether the top level is read no further once its one wanted occurrence is built.
    stops_once_built: bool,
}

impl Focus {
    /// Also builds every occurrence of top-level field `number`.
    pub fn with_field(mut self, number: u32) -> Self {
        self.fields.push((number, None));
        self
    }

    /// Also builds occurrence `index` of top-level field `number`.
    pub fn with_occurrence(mut self, number: u32, index: u32) -> Self {
        self.fields.push((number, Some(index)));
        self
    }

    /// Also builds top-level repeated scalar field `number`, its packed runs with a node
    /// for value `index` (counted across the field's occurrences) and for no other.
    pub fn with_value(mut self, number: u32, index: u32) -> Self {
        self.fields.push((number, None));
        self.values.push((number, index));
        self
    }

    /// Reads the top level no further once the one occurrence this focus wants is built
    /// (with [`Self::with_occurrence`] alone): a lookup needs nothing after it, so a value
    /// near the start of a gigabyte is found without reading the rest. The root's own
    /// rules wait under any focus, so nothing is reported about what was not read.
    pub fn reading_no_further(mut self) -> Self {
        self.stops_once_built = true;
        self
    }

    /// The one occurrence after which the top level is read no further, if there is one.
    pub fn last_wanted(&self) -> Option<(u32, u32)> {
        match (self.stops_once_built, self.fields.as_slice(), self.values.is_empty()) {
            (true, &[(number, Some(index))], true) => Some((number, index)),
            _ => None,
        }
    }

    /// The one value of top-level field `number` whose packed runs get a node, if only one.
    pub fn only_value(&self, number: u32) -> Option<u32> {
        self.values.iter().find(|&&(n, _)| n == number).map(|&(_, i)| i)
    }

    /// The top-level field a path's first step names (`#N`, or a field of `root`), and
    /// whether an `[i]` on it counts the values of packed runs rather than occurrences.
    /// `None` when that cannot be told (no root type, a name it lacks, a root that is an
    /// Any: its payload's fields are named at its top level, and are not its own).
    pub fn top_level_field(root: Option<&MessageDescriptor>, name: &str) -> Option<(u32, bool)> {
        if root.is_some_and(|root| root.full_name() == ANY_TYPE) {
            return None;
        }
        match name.strip_prefix('#') {
            Some(number) => Some((number.parse().ok()?, false)),
            None => {
                let field = root?.get_field_by_name(name)?;
                let packable = field.is_list() && !matches!(field.kind(), prost_reflect::Kind::Message(_));
                Some((field.number(), packable))
            }
        }
    }

    /// Whether no top-level field is built at all.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Whether any occurrence of top-level field `number` is built.
    pub fn mentions(&self, number: u32) -> bool {
        self.fields.iter().any(|&(n, _)| n == number)
    }

    /// Whether occurrence `index` of top-level field `number` is built.
    pub fn wants(&self, number: u32, index: u32) -> bool {
        self.fields.iter().any(|&(n, i)| n == number && i.is_none_or(|i| i == index))
    }
}

/// How to read bytes: which schema, which root message type (none: raw wire fields), and
/// how deep to go.
#[derive(Debug, Clone)]
pub struct Decoder {
    schema: Arc<Schema>,
    root: Option<MessageDescriptor>,
    limits: Limits,
    focus: Option<Focus>,
    /// Whether damaged top-level fields are searched for a likely cause.
    causes: bool,
    /// Whether a streamed top-level message with no problem at all is skimmed, not built.
    skims: bool,
    /// Whether a streamed run of clean top-level messages of leaves is handed over as one
    /// node, its leaves unbuilt ([`Decoder::listing_flat_runs`]).
    lists: bool,
    /// Whether, besides, a streamed run of top-level messages of one field that read clean
    /// whatever their shape is handed over as one node ([`Decoder::listing_clean_messages`]).
    lists_clean: bool,
    /// Past how many values of a packed run out of range in a row the others are only
    /// counted ([`Decoder::counting_alike_past`]).
    alike_kept: Option<usize>,
    /// Whether a streamed run keeps only the first of its values out of range and counts
    /// the rest ([`Decoder::counting_values_out_of_range`]).
    counts_values: bool,
    /// How many bytes of stored nodes a whole decode keeps before it leaves clean
    /// top-level messages cold ([`Decoder::keeping_nodes_up_to`]); `None`: as many as
    /// [`crate::model::cold`] keeps for the input's size.
    hot_bytes: Option<u64>,
}

impl Decoder {
    /// A decoder for `root` (schema-less when `None`) with the default [`Limits`].
    pub fn new(schema: Arc<Schema>, root: Option<MessageDescriptor>) -> Self {
        Decoder {
            schema,
            root,
            limits: Limits::default(),
            focus: None,
            causes: true,
            skims: false,
            lists: false,
            lists_clean: false,
            alike_kept: None,
            counts_values: false,
            hot_bytes: None,
        }
    }

    /// The same decoder reading `root` as the root, building every field (a message of a
    /// document decoded again alone, [`crate::model::cold`]).
    pub(crate) fn rooted_at(&self, root: MessageDescriptor) -> Decoder {
        Decoder { root: Some(root), focus: None, ..self.clone() }
    }

    /// The same decoder with other limits.
    pub fn with_limits(self, limits: Limits) -> Self {
        Decoder { limits, ..self }
    }

    /// The same decoder, not searching damaged fields for a likely cause (the search's own
    /// trial decodes use this, so it never nests).
    pub fn without_causes(self) -> Self {
        Decoder { causes: false, ..self }
    }

    /// The same decoder, for a reader of problems alone (`check`): a top-level message
    /// field that a quick walk finds free of every problem is handed to the streaming
    /// hook as one node with no children, its fields only counted
    /// ([`Document::fields_skimmed_under`]), and so is a run of such fields, as its last;
    /// the others are built as usual, so their problems, paths and causes are exactly
    /// those of a full decode.
    pub fn skimming_clean_fields(self) -> Self {
        Decoder { skims: true, ..self }
    }

    /// The same decoder, for a writer that lists every node (`show`'s tree, text and
    /// JSON): a run of top-level message fields of one field, each of a type of leaves
    /// only that reads clean, is handed to the streaming hook as one node, the run's last
    /// message, with no children; the writer reads the run's messages and leaves from the
    /// bytes ([`Document::listed_messages`]), and each reads as a full decode builds it.
    /// The other fields are built as usual.
    pub fn listing_flat_runs(self) -> Self {
        Decoder { lists: true, ..self }
    }

    /// Whether runs of clean top-level messages of leaves are handed over unbuilt.
    pub fn lists_flat_runs(&self) -> bool {
        self.lists
    }

    /// The same decoder, for a writer of the tree's rows (`show`'s tree): as
    /// [`Decoder::listing_flat_runs`], and a run of top-level message fields of one field
    /// that a quick walk finds free of every problem, whatever they hold (nested messages,
    /// Any payloads, packed runs), is handed over as one node too; the writer reads their
    /// rows from the bytes ([`Document::listed_clean`]), each as a full decode builds it.
    pub fn listing_clean_messages(self) -> Self {
        Decoder { lists: true, lists_clean: true, ..self }
    }

    /// Whether runs of clean top-level messages of any shape are handed over unbuilt.
    pub fn lists_clean_messages(&self) -> bool {
        self.lists_clean
    }

    /// The same decoder, for a report that shows `kept` problems alike and counts the
    /// rest (`check`): of the values of a packed run that has no node for each, those out
    /// of range past `kept` + 1 in a row are counted on the last problem kept
    /// ([`crate::Problem::more_alike`]), not each kept (a hostile run of a million took a
    /// record each, and most of the check's time).
    pub fn counting_alike_past(self, kept: usize) -> Self {
        Decoder { alike_kept: Some(kept), ..self }
    }

    /// The same decoder, for a writer that finds again what each value of a packed run
    /// out of range says, from the value (the model's `run_problems`: `show`'s tree and
    /// text): a run that has no node for each value keeps the problem of the first out of
    /// range and counts the rest on it, unless [`Decoder::counting_alike_past`] keeps more.
    /// A hostile run of a million took a record each, ten times the file.
    pub fn counting_values_out_of_range(self) -> Self {
        Decoder { counts_values: true, ..self }
    }

    /// The same decoder, whose whole decodes keep `bytes` of stored nodes (32 bytes each)
    /// before they leave each clean top-level message of 16 nodes or more cold: stored
    /// as its own node alone, the nodes under it decoded from its bytes again when read.
    /// By default a document keeps seven eighths of its input's size or 256 MiB,
    /// whichever is more, so a small one reads its units from memory and a gigabyte's
    /// stay near the file's size. Clean messages of numbers all the way down are left
    /// cold whatever the budget (see the `cold` module of the model).
    pub fn keeping_nodes_up_to(self, bytes: u64) -> Self {
        Decoder { hot_bytes: Some(bytes), ..self }
    }

    /// How many bytes of stored nodes a whole decode of `input` bytes keeps before it
    /// leaves clean top-level messages cold ([`Decoder::keeping_nodes_up_to`]).
    pub(crate) fn hot_bytes(&self, input: usize) -> u64 {
        self.hot_bytes.unwrap_or_else(|| super::cold::hot_bytes(input as u64))
    }

    /// Past how many problems alike in a row the others are only counted, if they are.
    pub fn alike_kept(&self) -> Option<usize> {
        self.alike_kept
    }

    /// Past how many values of a packed run out of range in a row that has no node for
    /// each the others are only counted, if they are.
    pub fn values_kept(&self) -> Option<usize> {
        self.alike_kept.or(self.counts_values.then_some(0))
    }

    /// Whether clean top-level message fields are skimmed rather than built.
    pub fn skims(&self) -> bool {
        self.skims
    }

    /// Whether damaged top-level fields are searched for a likely cause.
    pub fn searches_causes(&self) -> bool {
        self.causes
    }

    /// The same decoder, building nodes only for the top-level fields `focus` names.
    pub fn with_focus(self, focus: Focus) -> Self {
        Decoder { focus: Some(focus), ..self }
    }

    /// The top-level fields built, when not all are.
    pub fn focus(&self) -> Option<&Focus> {
        self.focus.as_ref()
    }

    /// The schema names and types come from.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The root message type, if one was given or detected.
    pub fn root_type(&self) -> Option<&MessageDescriptor> {
        self.root.as_ref()
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Decodes `source` whole. Never fails: what does not decode becomes problems. The
    /// values of a packed run that reads clean are not stored but read from the run's
    /// bytes when asked for; every node reads the same either way.
    pub fn decode(&self, source: Source) -> Document {
        decode_whole(Builder::new(source, self.clone()).eliding())
    }

    /// Decodes `source` whole, storing every node, with the types of `types` already
    /// interned: many small decodes with one schema (the trials of the search for a likely
    /// cause) then intern each type once, not once a decode. The document's
    /// [`Document::take_types`] gives them back.
    pub(crate) fn decode_with_types(&self, source: Source, types: TypeTable) -> Document {
        decode_whole(Builder::with_types(source, self.clone(), types))
    }

    /// Decodes while handing the complete subtrees of the top-level fields to `hook`, a
    /// few hundred nodes at a time, then dropping them: memory stays bounded by the
    /// largest top-level field. The returned document keeps only the root and the root's
    /// own problems.
    ///
    /// The values of a packed run get no nodes of their own here (a run of millions would
    /// need 48 bytes each): read them from the run's bytes ([`crate::packed_values`]).
    /// A value's problem is attached to its run, at the value's byte offset.
    pub fn decode_streaming(&self, source: Source, hook: TopLevelHook<'_>) -> std::io::Result<Document> {
        let mut builder = Builder::new(source, self.clone());
        overlay::build(&mut builder, Some(hook), false)?;
        Ok(builder.finish())
    }
}

/// The document `builder` makes of its whole source, with no hook.
fn decode_whole(mut builder: Builder) -> Document {
    overlay::build(&mut builder, None, true).expect("without a hook decoding cannot fail");
    builder.finish()
}
