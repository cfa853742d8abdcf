//! Passing over a clean message's subtree whole in a search: when no row under its type
//! can hold the query (judged once a type), or when only values and indices can and none
//! does, read from its bytes without making a node. Nine rows in ten of a VM's state are
//! the registers, segments and APIC of its processors: numbers under messages of numbers.

use super::plan::{MOST_FIELDS, Plans, Step, Width};
use super::{Search, SearchScratch};
use crate::decode::schema::{FieldClass, FieldInfo, TypeIndex};
use crate::decode::wire::{self, PackedRun, WireType};
use crate::model::hash::KeyMap;
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::{Document, path, value};
use crate::ui::app::sifting::{Judged, Look};
use prost_reflect::Kind;

/// The deepest nesting read from the bytes: a deeper subtree is looked at row by row.
const DEEPEST: u32 = 32;

/// How many rows that read alike a search keeps whether each holds the query: as many as
/// an untrusted document's distinct Any fields and URLs may be, they are not all kept.
const MOST_ROWS_ALIKE: usize = 4096;

/// How many rows asked of last a search compares a row's key with before it looks the
/// key up: a VP's Any, its URL and its APIC's run.
const RECENT_ROWS_ALIKE: usize = 4;

/// Whether each row met that reads the same wherever it is met holds the query, by the
/// row's key: the bytes of the parts that tell such rows apart, one after the other.
#[derive(Default)]
pub(super) struct RowsAlike {
    known: KeyMap<Box<[u8]>, bool>,
    /// The rows asked of last, each with whether it holds the query, compared part by
    /// part: neither copied nor hashed where one is met again.
    recent: Vec<(Box<[u8]>, bool)>,
    /// Where the next row asked of is kept among `recent`.
    next_recent: usize,
    /// The key of the row asked of last.
    key: Vec<u8>,
}

impl RowsAlike {
    /// Whether the row whose key is the parts `key` holds the query, if known.
    fn known(&mut self, key: &[&[u8]]) -> Option<bool> {
        if let Some(&(_, holds)) = self.recent.iter().find(|(kept, _)| same_parts(kept, key)) {
            return Some(holds);
        }
        self.key.clear();
        key.iter().for_each(|part| self.key.extend_from_slice(part));
        let holds = self.known.get(self.key.as_slice()).copied()?;
        self.recall(holds);
        Some(holds)
    }

    /// Keeps whether the row asked of last ([`RowsAlike::known`]) holds the query, unless
    /// as many as [`MOST_ROWS_ALIKE`] are kept.
    fn keep(&mut self, holds: bool) {
        if self.known.len() < MOST_ROWS_ALIKE {
            self.known.insert(self.key.as_slice().into(), holds);
        }
        self.recall(holds);
    }

    /// Keeps the row asked of last among the recent ones, in place of the oldest.
    fn recall(&mut self, holds: bool) {
        let row = (self.key.as_slice().into(), holds);
        match self.recent.get_mut(self.next_recent) {
            Some(kept) => *kept = row,
            None => self.recent.push(row),
        }
        self.next_recent = (self.next_recent + 1) % RECENT_ROWS_ALIKE;
    }
}

/// Whether `kept` is the bytes of `parts`, one after the other.
fn same_parts(kept: &[u8], parts: &[&[u8]]) -> bool {
    let mut rest = kept;
    for part in parts {
        match rest.split_at_checked(part.len()) {
            Some((head, tail)) if head == *part => rest = tail,
            _ => return false,
        }
    }
    rest.is_empty()
}

impl Search {
    /// The topmost of `parent` and its ancestors, up from it while each is, that is passed
    /// over with its subtree ([`Search::passes_over`]), if any: a piece of a search that
    /// begins within a subtree passed over goes on past that ancestor's subtree.
    pub(super) fn top_passed_over(
        &self,
        doc: &Document,
        parent: Option<NodeId>,
        scratch: &mut SearchScratch,
    ) -> Option<NodeId> {
        let mut top = None;
        let mut above = parent;
        while let Some(at) = above {
            let parent = doc.node(at);
            if !self.passes_over(doc, at, &parent, || doc.field_info_of(&parent), scratch) {
                break;
            }
            top = Some(at);
            above = parent.parent;
        }
        top
    }

    /// The topmost of the ancestors of node `id` that is passed over with its subtree
    /// ([`Search::top_passed_over`]), if any. In a message left cold, that message is
    /// looked at first: making the node would decode it again.
    pub(super) fn top_passed_over_around(
        &self,
        doc: &Document,
        id: NodeId,
        scratch: &mut SearchScratch,
    ) -> Option<NodeId> {
        match doc.node_or_cold_message(id) {
            Ok(node) => self.top_passed_over(doc, node.parent, scratch),
            Err(message) => self
                .top_passed_over(doc, Some(message), scratch)
                .or_else(|| self.top_passed_over(doc, doc.node(id).parent, scratch)),
        }
    }

    /// Whether the subtree of message `id` (`node` as read, of `field`) holds no row that
    /// matches: its own row does not (or it has none: an Any's payload), no node in it has
    /// a problem (such a row is written whole), and no row under its type can hold the
    /// query ([`Judged::Never`]) or, where only values and indices can, none of those read
    /// from its bytes does. Its field, which `field` finds, is asked for only where its
    /// own row is looked at: a piece that begins within a subtree asks this of ancestors
    /// whose row it does not look at.
    pub(super) fn passes_over<'d>(
        &self,
        doc: &'d Document,
        id: NodeId,
        node: &Node,
        field: impl FnOnce() -> Option<&'d FieldInfo>,
        scratch: &mut SearchScratch,
    ) -> bool {
        if node.kind == NodeKind::Any {
            return self.any_passes_over(doc, id, node, field(), scratch);
        }
        let Some(ty) = node.ty.filter(|_| matches!(node.kind, NodeKind::Message | NodeKind::AnyPayload)) else {
            return false;
        };
        let judged = scratch.sifter.judge(doc, ty);
        if judged == Judged::Rows {
            return false;
        }
        let own_row_may_hold = match doc.is_transparent_node(node) {
            true => false,
            false => match field() {
                Some(field) => self.message_row_holds(field, doc.type_name(ty), path::value_index(doc, node), scratch),
                None => true,
            },
        };
        if own_row_may_hold || !doc.problem_free(id, node.next) {
            return false;
        }
        judged == Judged::Never || {
            let SearchScratch { plans, sifter, line, rows_alike, .. } = scratch;
            plans.plan(doc, ty, sifter)
                && self.none_holds(doc, plans, ty, doc.value_bytes_of(node), (line, rows_alike), 0)
        }
    }

    /// Whether the subtree of Any `id` (`node` as read, of `field`) holds no row that
    /// matches, where it reads as a clean Any of a resolved URL: its URL's node, then its
    /// payload's. Its own row (`state: Any → T`) and its URL's (`@type: string = "…"`)
    /// read alike wherever they are met, and are looked at once; its payload is passed
    /// over as a message is ([`Search::passes_over`]).
    fn any_passes_over(
        &self,
        doc: &Document,
        id: NodeId,
        node: &Node,
        field: Option<&FieldInfo>,
        scratch: &mut SearchScratch,
    ) -> bool {
        let (url_id, payload_id) = (id + 1, id + 2);
        let Some(field) = field.filter(|_| payload_id < node.next && doc.problem_free(id, node.next)) else {
            return false;
        };
        let (url, payload) = (doc.node(url_id), doc.node(payload_id));
        let clean = url.kind == NodeKind::String
            && url.field_number == 1
            && url.parent == Some(id)
            && url.next == payload_id
            && payload.kind == NodeKind::AnyPayload
            && payload.parent == Some(id)
            && payload.next == node.next;
        let Some(payload_type) = payload.ty.filter(|_| clean) else { return false };
        if !self.passes_over(doc, payload_id, &payload, || doc.field_info_of(&payload), scratch) {
            return false;
        }
        // Its own row, known by its field (by address), index and payload type; its URL's,
        // by its field and its bytes.
        let own_field = (std::ptr::from_ref(field) as usize).to_le_bytes();
        let own = [
            b"any".as_slice(),
            &own_field,
            &path::value_index(doc, node).to_le_bytes(),
            &(payload_type.index() as u64).to_le_bytes(),
        ];
        if self.row_alike_holds(&own, scratch, |search, scratch| search.finds(doc, id, node, Some(field), scratch)) {
            return false;
        }
        let url_field = doc.field_info_of(&url);
        let url_field_key = url_field.map_or(0, |f| std::ptr::from_ref(f) as usize).to_le_bytes();
        let url_row = [b"url".as_slice(), &url_field_key, doc.value_bytes_of(&url)];
        !self.row_alike_holds(&url_row, scratch, |search, scratch| search.finds(doc, url_id, &url, url_field, scratch))
    }

    /// Whether a row that reads the same wherever it is met, known by the bytes of `key`
    /// one after the other, holds the query: as `finds` says the first time it is met.
    fn row_alike_holds(
        &self,
        key: &[&[u8]],
        scratch: &mut SearchScratch,
        finds: impl FnOnce(&Search, &mut SearchScratch) -> bool,
    ) -> bool {
        scratch.rows_alike.known(key).unwrap_or_else(|| {
            let holds = finds(self, scratch);
            scratch.rows_alike.keep(holds);
            holds
        })
    }

    /// Whether the row of message `index` of `field` (of the type named `type_name`) may
    /// hold the query: as [`crate::ui::app::sifting::Sifter::message_row`] looks at it, its
    /// index looked at where only that varies.
    fn message_row_holds(&self, field: &FieldInfo, type_name: &str, index: u32, scratch: &mut SearchScratch) -> bool {
        match scratch.sifter.message_row(field, type_name, index) {
            Look::Never => false,
            Look::Varying => self.index_holds(index, &mut scratch.line),
            Look::Whole => true,
        }
    }

    /// Whether no row of the fields in `bytes`, a clean message of type `ty` judged
    /// [`Judged::Varying`], holds the query, each row's varying parts read as the row
    /// writes them; `false` wherever they are not read so (a singular field given twice,
    /// a type of more fields or deeper nesting than is read here). Each field is looked
    /// at as its type's [`Step`]s, planned once a type.
    fn none_holds(
        &self,
        doc: &Document,
        plans: &Plans,
        ty: TypeIndex,
        bytes: &[u8],
        (line, rows_alike): (&mut String, &mut RowsAlike),
        depth: u32,
    ) -> bool {
        let (Some(steps), info) = (plans.steps(ty), doc.type_info_at(ty)) else { return false };
        if depth > DEEPEST {
            return false;
        }
        // How many values of each field (by its place in the type) came before: a value's
        // index.
        let mut counts = [0u32; MOST_FIELDS];
        let mut pos = 0;
        while pos < bytes.len() {
            let Ok(raw) = wire::read_field_inline(bytes, pos, bytes.len()) else { return false };
            pos = raw.end;
            let Some(field_index) = info.field_index(raw.tag.field_number) else { return false };
            let (Some(&step), Some(field)) = (steps.get(field_index), info.fields.get(field_index)) else {
                return false;
            };
            let index = counts[field_index];
            let values = match (step, raw.tag.wire_type) {
                (Step::Rows, _) => return false,
                (Step::Number { .. } | Step::Passed, WireType::Len) => {
                    let FieldClass::Scalar(wire) = field.class else { return false };
                    let look = if matches!(step, Step::Passed) { Look::Never } else { Look::Varying };
                    let value = &bytes[raw.value_start..raw.value_end];
                    match self.packed_run_holds(field, look, wire, index, value, (line, rows_alike)) {
                        Some(values) => values,
                        None => return false,
                    }
                }
                (Step::Passed, _) => 1,
                (Step::Number { listed, unsigned }, _) => {
                    if (!listed && index > 0) || (listed && self.index_holds(index, line)) {
                        return false;
                    }
                    if self.number_holds(unsigned, &field.kind, raw.scalar, line) {
                        return false;
                    }
                    1
                }
                (Step::Message { child, first, later, below }, _) => {
                    let row = if index == 0 { first } else { later };
                    let row_holds = match row {
                        Look::Never => false,
                        Look::Varying => self.index_holds(index, line),
                        Look::Whole => true,
                    };
                    let value = &bytes[raw.value_start..raw.value_end];
                    let below_holds = match below {
                        Judged::Never => false,
                        Judged::Varying => !self.none_holds(doc, plans, child, value, (line, rows_alike), depth + 1),
                        Judged::Rows => true,
                    };
                    if row_holds || below_holds {
                        return false;
                    }
                    1
                }
            };
            let Some(after) = index.checked_add(values) else { return false };
            counts[field_index] = after;
        }
        true
    }

    /// How many values the clean packed run `run` of `field` (of `wire`-typed values, the
    /// first at `index`, whose rows are looked at as `look`) holds, when neither its row
    /// (`name: packed type = [n elements]`) nor a value's (`[i]: type = value`) holds the
    /// query; `None` when one may.
    fn packed_run_holds(
        &self,
        field: &FieldInfo,
        look: Look,
        wire: WireType,
        index: u32,
        run: &[u8],
        (line, rows_alike): (&mut String, &mut RowsAlike),
    ) -> Option<u32> {
        if !field.is_list || look == Look::Whole {
            return None;
        }
        let unsigned = Width::of_unsigned(&field.kind);
        let mut count = 0u32;
        for read in PackedRun::new(0..run.len(), wire).values(run) {
            let raw = read.ok()?.raw;
            if look == Look::Varying
                && (self.index_holds(index.checked_add(count)?, line)
                    || self.number_holds(unsigned, &field.kind, raw, line))
            {
                return None;
            }
            count = count.checked_add(1)?;
        }
        // Its row, alike for runs of its field of as many values.
        let key = [b"packed".as_slice(), &(std::ptr::from_ref(field) as usize).to_le_bytes(), &count.to_le_bytes()];
        let row_holds = rows_alike.known(&key).unwrap_or_else(|| {
            line.clear();
            line.push_str(&field.name);
            line.push_str(": packed ");
            line.push_str(&field.type_name);
            line.push_str(" = [");
            value::push_decimal(u64::from(count), line);
            line.push_str(" elements]");
            let holds = self.label_matches(line);
            rows_alike.keep(holds);
            holds
        });
        (!row_holds).then_some(count)
    }

    /// Whether a number's row holds the query in its value, read from `raw` as `kind`
    /// (`unsigned` of that width): an unsigned one's digits are looked at without making
    /// its value first. Inlined: a search asks it of every number read from bytes.
    #[inline(always)]
    fn number_holds(&self, unsigned: Option<Width>, kind: &Kind, raw: u64, line: &mut String) -> bool {
        match (unsigned, &self.digits) {
            (Some(width), Some(digits)) => {
                let v = width.of(raw);
                digits.in_integer(v, v >= 10)
            }
            _ => self.value_holds(&value::interpret(kind, raw), line),
        }
    }
}
