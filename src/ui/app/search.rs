//! The browser's search: which row, in search order from where it started, first holds
//! the query, looked for on both cores a slice of the document at a time; rows that cannot
//! hold it are passed over as the sifter judges ([`super::sifting`]).

mod digits;
mod plan;
mod subtree;
mod sweep;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use self::digits::Digits;
use self::sweep::Sweep;
use super::sifting::{self, Look};
use crate::decode::schema::FieldInfo;
use crate::model::flat_walk::{FlatWalk, Passed};
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::value::Scalar;
use crate::model::{Document, path, value};
use crate::render::tree;

/// How many steps a core looks at before it takes the next piece of a search (and asks
/// whether the slice's time is up).
const PIECE_STEPS: u32 = 25_000;

/// A search that has not reached its match (or the start again) yet.
#[derive(Debug, Clone)]
pub struct Search {
    pub(super) query: String,
    /// The query lowered (ASCII), looked for in each row's lowered label.
    needle: memchr::memmem::Finder<'static>,
    /// The query read as hex bytes (`/4f50454e`, `/4f 50`), also looked for in bytes values.
    hex: Option<memchr::memmem::Finder<'static>>,
    /// The query, when it is decimal digits alone: in an integer written as a row writes
    /// it (`16 (0x10)`), it can then lie only within the decimal or the hex digits.
    digits: Option<Digits>,
    pub(super) forward: bool,
    /// Where it started, and how many nodes it has looked at.
    pub(super) from: NodeId,
    pub(super) looked: u32,
}

/// The rooms a search reuses for each row it looks at: its label, and a bytes value
/// lowered; and what it knows of the rows of each field and type it met.
pub(super) struct SearchScratch {
    line: String,
    lowered: Vec<u8>,
    sifter: sifting::Sifter,
    /// How each type's fields are read from their bytes.
    plans: plan::Plans,
    /// Whether rows that read alike wherever they are met hold the query: an Any's own row
    /// and its URL's ([`Search::any_passes_over`]).
    rows_alike: subtree::RowsAlike,
}

impl Search {
    /// A search for `query` (ASCII case aside; also as hex bytes in a bytes value), forward
    /// or backward from `from`, which has looked at nothing yet.
    pub(super) fn new(query: String, forward: bool, from: NodeId) -> Search {
        // Case-insensitive for ASCII, lowering the reused label buffer in place.
        let needle = memchr::memmem::Finder::new(&query.to_ascii_lowercase()).into_owned();
        let digits: String = query.chars().filter(|c| !c.is_whitespace()).collect();
        let hex = crate::edit::value::parse_hex(&digits).filter(|b| !b.is_empty());
        let hex = hex.map(|hex| memchr::memmem::Finder::new(&hex).into_owned());
        let digits = Digits::of(&query);
        Search { query, needle, hex, digits, forward, from, looked: 0 }
    }

    /// Rooms for looking at rows, on one thread.
    pub(super) fn scratch(&self) -> SearchScratch {
        SearchScratch {
            line: String::new(),
            lowered: Vec::new(),
            sifter: sifting::Sifter::new(self.needle.needle()),
            plans: plan::Plans::default(),
            rows_alike: subtree::RowsAlike::default(),
        }
    }

    /// The first node in search order among `steps` (counted from where the search
    /// started) whose row matches, with its step; both cores look, a piece of
    /// [`PIECE_STEPS`] at a time. With `until`, no piece but the first is begun past that
    /// instant: `Err(step)` then says that no step before `step` matches and that the
    /// steps from it on are left to look at (`steps.end` when all were looked at).
    pub(super) fn first_match(
        &self,
        doc: &Document,
        steps: std::ops::Range<u32>,
        until: Option<Instant>,
    ) -> Result<(u32, NodeId), u32> {
        let len = doc.node_count() as u32;
        let from = self.from.index() as u32;
        // Forward from node `origin`: the first step among `steps` whose row matches.
        let look_forward = |origin: u32, steps: std::ops::Range<u32>, scratch: &mut SearchScratch| {
            // Most rows are a sibling's of the row before: its parent's type is kept.
            let mut fields = doc.fields_of_siblings();
            let mut step = steps.start;
            while step < steps.end {
                let id = NodeId::from_index(((origin + step) % len) as usize);
                // A piece may begin within a subtree passed over: on past its end.
                if step == steps.start
                    && let Some(top) = self.top_passed_over_around(doc, id, scratch)
                {
                    step += doc.node(top).next - id;
                    continue;
                }
                // The values of a run not stored as nodes: read from the run, as many as
                // the steps left cover.
                if let Some((run, position, count)) = doc.unstored_value(id) {
                    let positions = position..count.min(position.saturating_add(steps.end - step));
                    let covered = positions.len() as u32;
                    if let Some(k) = self.value_match(doc, run, positions, scratch) {
                        return Some((step + (k - position), run + (k + 1)));
                    }
                    step += covered;
                    continue;
                }
                let node = doc.node(id);
                // A flat run's rows: made from its bytes one message after the next.
                if let Some(walk) = doc.flat_walk(id, &node) {
                    match self.flat_match(doc, walk, step, steps.end, scratch) {
                        Ok(found) => return Some(found),
                        Err(after) => step = after,
                    }
                    continue;
                }
                let field = fields.of(&node);
                // A clean message none of whose rows can hold the query: passed over whole.
                if self.passes_over(doc, id, &node, || field, scratch) {
                    step += node.next - id;
                    continue;
                }
                if self.finds(doc, id, &node, field, scratch) {
                    return Some((step, id));
                }
                step += 1;
            }
            None
        };
        // Backward, the steps are the nodes from the one at the first step down, in at
        // most two runs of ids (the search wraps past the root to the end): each is read
        // forward, as fast as a forward search reads it, and its last match is the first
        // backward. A walk down the ids would meet each subtree passed over at its last
        // node and climb to its top, asking of each ancestor on the way.
        let look = |steps: std::ops::Range<u32>, scratch: &mut SearchScratch| {
            if self.forward {
                return look_forward(from, steps, scratch);
            }
            let top = (from + len - steps.start % len) % len;
            let above_end = (steps.end - steps.start).min(top + 1);
            let rest = steps.len() as u32 - above_end;
            let runs = [(top + 1 - above_end, top + 1, steps.start), (len - rest, len, steps.start + above_end)];
            for (lowest, end, first_step) in runs {
                let (mut last, mut next) = (None, 0);
                while let Some((at, id)) = look_forward(lowest, next..end - lowest, scratch) {
                    (last, next) = (Some(id), at + 1);
                }
                if let Some(id) = last {
                    return Some((first_step + (end - 1 - id.index() as u32), id));
                }
            }
            None
        };
        // In pieces taken in turn by both cores, so that where rows cost more than others
        // (a gigabyte's registers are read from their bytes) neither core waits long; each
        // stops at its first match, and no piece after the first with one is begun. Every
        // piece taken is looked at whole, so those taken cover the steps up to the last.
        let size = PIECE_STEPS;
        let (taken, first_found) = (AtomicU32::new(0), AtomicU32::new(u32::MAX));
        let time_is_up = || until.is_some_and(|until| taken.load(Ordering::Relaxed) > 0 && Instant::now() >= until);
        let look_at_pieces = || {
            // Rooms, and what is known of the rows of each field and type met, kept from
            // one piece to the next.
            let mut scratch = self.scratch();
            loop {
                if time_is_up() {
                    return None;
                }
                let piece = taken.fetch_add(1, Ordering::Relaxed);
                let start = steps.start.saturating_add(piece.saturating_mul(size));
                if start >= steps.end || piece > first_found.load(Ordering::Relaxed) {
                    return None;
                }
                if let Some(found) = look(start..start.saturating_add(size).min(steps.end), &mut scratch) {
                    first_found.fetch_min(piece, Ordering::Relaxed);
                    return Some((piece, found));
                }
            }
        };
        let (one, other) = std::thread::scope(|scope| {
            let other = scope.spawn(look_at_pieces);
            (look_at_pieces(), other.join().expect("a search never panics"))
        });
        let found = one.into_iter().chain(other).min_by_key(|&(piece, _)| piece);
        let looked_to = steps.start.saturating_add(taken.into_inner().saturating_mul(size)).min(steps.end);
        found.map(|(_, found)| found).ok_or(looked_to)
    }

    /// Of the rows of a flat run from `walk`'s first message on (at step `step`), up to
    /// step `end`, the first that matches, with its step; else the step after the rows
    /// looked through. Its messages' rows differ only in their indices, and its leaves
    /// are clean rows of its type's fields: how each is looked at ([`Look`]) is judged
    /// once a field, and a run none of whose rows can hold the query is passed over whole.
    fn flat_match(
        &self,
        doc: &Document,
        mut walk: FlatWalk,
        step: u32,
        end: u32,
        scratch: &mut SearchScratch,
    ) -> Result<(u32, NodeId), u32> {
        let Some(first) = walk.next() else { return Err(step + 1) };
        let base = first.id();
        let step_of = |id: NodeId| step.saturating_add(id - base);
        let (ty, field) = (walk.message_type(), walk.message_field());
        let leaves_may_match = ty.is_none_or(|ty| scratch.sifter.may_match_a_field(ty));
        let rows = match (field, ty) {
            (Some(field), Some(ty)) => scratch.sifter.message(field, ty.desc.full_name()),
            _ => Look::Whole,
        };
        if !leaves_may_match && rows == Look::Never {
            let after = doc.flat_run_end(base).unwrap_or(first.node().next);
            return Err(step_of(after));
        }
        // A search for digits judges what messages it can from their values alone.
        let sweep =
            self.digits.as_ref().zip(ty).and_then(|(digits, ty)| Sweep::new(digits, ty, rows, &mut scratch.sifter));
        // How each leaf is looked at, by field number and whether it is its field's first
        // in its message (a singular field's next is `name[1]`): a run's type has few.
        let mut looks: Vec<((u32, bool), Look)> = Vec::new();
        let mut next = Some(first);
        let mut after = step;
        while let Some(message) = next {
            let at = step_of(message.id());
            if at >= end {
                return Err(end);
            }
            if self.finds_as(doc, message.id(), message.node(), field, rows, scratch) {
                return Ok((at, message.id()));
            }
            for leaf in walk.leaves().take(if leaves_may_match { usize::MAX } else { 0 }) {
                let at = step_of(leaf.id);
                if at >= end {
                    return Err(end);
                }
                let key = (leaf.node.field_number, leaf.node.index == 0);
                let look = match looks.iter().find(|(k, _)| *k == key) {
                    Some(&(_, look)) => look,
                    None => {
                        let look = scratch.sifter.look(&leaf.node, leaf.field);
                        looks.push((key, look));
                        look
                    }
                };
                // A number's value as the walk read it, where only its index and value
                // vary from row to row: an unsigned one's digits looked at without making
                // its value first.
                let listed = leaf.field.is_some_and(|f| f.is_list);
                let found = if look == Look::Varying
                    && let (Some(v), Some(digits)) = (leaf.unsigned(), &self.digits)
                {
                    (listed && self.index_holds(leaf.node.index, &mut scratch.line)) || digits.in_integer(v, v >= 10)
                } else if look == Look::Varying
                    && let Some(value) = leaf.scalar()
                {
                    self.index_or_value_holds(listed, leaf.node.index, &value, &mut scratch.line)
                } else {
                    self.finds_as(doc, leaf.id, &leaf.node, leaf.field, look, scratch)
                };
                if found {
                    return Ok((at, leaf.id));
                }
            }
            after = step_of(message.node().next);
            next = loop {
                let Some(sweep) = &sweep else { break walk.next() };
                match walk.pass_over(sweep.judge()) {
                    Passed::Over { id, index, ids } => {
                        let at = step_of(id);
                        if at >= end {
                            return Err(end);
                        }
                        if sweep.message_holds(index) {
                            return Ok((at, id));
                        }
                        after = step_of(id + ids);
                    }
                    Passed::Stopped => break walk.next(),
                    Passed::End => break None,
                }
            };
        }
        Err(after)
    }

    /// Of the values of packed run `run` at `positions`, the first whose row matches
    /// (their rows are those [`tree::label`] gives: a run not stored reads clean).
    fn value_match(
        &self,
        doc: &Document,
        run: NodeId,
        positions: std::ops::Range<u32>,
        scratch: &mut SearchScratch,
    ) -> Option<u32> {
        let (field, first) = (doc.field_info(run), doc.node(run).index);
        let look = field.map_or(Look::Whole, |field| scratch.sifter.number(field));
        if look == Look::Never {
            return None;
        }
        let line = &mut scratch.line;
        let values = value::packed_values(doc, run).zip(0u32..).skip(positions.start as usize);
        for (value, k) in values.take(positions.len()) {
            line.clear();
            let matches = match field.filter(|_| look == Look::Varying) {
                // Its index, then its value.
                Some(field) => {
                    self.index_holds(first + k, line)
                        || self.value_holds(&value::interpret(&field.kind, value.raw), line)
                }
                None => {
                    tree::element_label(field, first + k, value.raw, false, line);
                    self.label_matches(line)
                }
            };
            if matches {
                return Some(k);
            }
        }
        None
    }

    /// Whether the index of a row (`[12]`) holds the query (`line` is room for it).
    fn index_holds(&self, index: u32, line: &mut String) -> bool {
        if let Some(digits) = &self.digits {
            return digits.in_integer(u64::from(index), false);
        }
        line.clear();
        value::push_decimal(u64::from(index), line);
        self.label_matches(line)
    }

    /// Whether `value`, as a row writes it ([`value::push_scalar_display`]), holds the
    /// query (`line` is room for it). Inlined: a search asks it of every number read from
    /// bytes.
    #[inline(always)]
    fn value_holds(&self, value: &Scalar, line: &mut String) -> bool {
        match (value, &self.digits) {
            (&Scalar::Unsigned(v), Some(digits)) => digits.in_integer(v, v >= 10),
            (&Scalar::Signed(v), Some(digits)) if v >= 10 => digits.in_integer(v as u64, true),
            (&Scalar::Signed(v), Some(digits)) => digits.in_integer(v.unsigned_abs(), false),
            _ => {
                line.clear();
                value::push_scalar_display(value, line);
                self.label_matches(line)
            }
        }
    }

    /// Whether the row of a number whose index and value alone vary ([`Look::Varying`])
    /// holds the query: its `index` when it is a value of a list (`listed`), or its `value`
    /// (`line` is room for either).
    fn index_or_value_holds(&self, listed: bool, index: u32, value: &Scalar, line: &mut String) -> bool {
        (listed && self.index_holds(index, line)) || self.value_holds(value, line)
    }

    /// Whether a row's label holds the query, case aside (lowered in place).
    fn label_matches(&self, line: &mut String) -> bool {
        line.make_ascii_lowercase();
        self.needle.find(line.as_bytes()).is_some()
    }

    /// Whether the row of `id` (`node` as read, of `field` as
    /// [`Document::field_info_of`] finds it) matches: its label (name, type, value as
    /// shown), or for a bytes value any of its bytes, as ASCII text or as the hex typed.
    /// Both are looked for with finders made once for the search, in a time linear in what
    /// is looked through.
    pub(super) fn finds(
        &self,
        doc: &Document,
        id: NodeId,
        node: &Node,
        field: Option<&FieldInfo>,
        scratch: &mut SearchScratch,
    ) -> bool {
        // A clean message's row shows its field's name, an index and its type's name.
        let message_row = |field: &FieldInfo| {
            let ty = doc.message_type_of(node).filter(|_| node.kind == NodeKind::Message && !node.has_problem())?;
            Some(scratch.sifter.message_row(field, ty.full_name(), path::value_index(doc, node)))
        };
        let look = match field.and_then(message_row) {
            Some(look) => look,
            None => scratch.sifter.look(node, field),
        };
        self.finds_as(doc, id, node, field, look, scratch)
    }

    /// [`Search::finds`], the row looked at as `look` says ([`sifting::Sifter::look`] of
    /// it, or of a row of its field alike).
    fn finds_as(
        &self,
        doc: &Document,
        id: NodeId,
        node: &Node,
        field: Option<&FieldInfo>,
        look: Look,
        scratch: &mut SearchScratch,
    ) -> bool {
        // An Any payload passed through has no row of its own.
        if look == Look::Never || doc.is_transparent_node(node) {
            return false;
        }
        let SearchScratch { line, lowered, .. } = scratch;
        line.clear();
        if look == Look::Varying {
            // A message's index; a number's index when of a list, then its value; another
            // value's index when of a list, then its label.
            let (listed, index) = (field.is_some_and(|f| f.is_list), path::value_index(doc, node));
            if node.kind == NodeKind::Message {
                return self.index_holds(index, line);
            }
            if let Some(value) = value::scalar_of(doc, node, field) {
                return self.index_or_value_holds(listed, index, &value, line);
            }
            if listed && self.index_holds(index, line) {
                return true;
            }
            line.clear();
        }
        tree::label_with(doc, id, node, field, line);
        if self.label_matches(line) {
            return true;
        }
        if node.kind != NodeKind::Bytes {
            return false;
        }
        let bytes = doc.value_bytes_of(node);
        if self.hex.as_ref().is_some_and(|hex| hex.find(bytes).is_some()) {
            return true;
        }
        // As text: lowered a piece at a time (a value may be a gigabyte), the pieces
        // overlapping by less than the needle so that none is missed at their seams.
        let overlap = self.needle.needle().len().saturating_sub(1);
        !self.needle.needle().is_empty()
            && (0..bytes.len()).step_by(LOWERED_AT_ONCE).any(|start| {
                lowered.clear();
                lowered.extend_from_slice(&bytes[start..bytes.len().min(start + LOWERED_AT_ONCE + overlap)]);
                lowered.make_ascii_lowercase();
                self.needle.find(lowered).is_some()
            })
    }
}

/// How many bytes of a bytes value a search lowers at once to look for its text.
const LOWERED_AT_ONCE: usize = 64 << 10;

/// How long a search looks before the browser reads the keyboard and draws again: short
/// beside the 50 ms a key may take, long beside what drawing and starting a second core
/// cost.
pub(super) const SEARCH_SLICE_TIME: Duration = Duration::from_millis(20);

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Search;
    use crate::decode::registry::SchemaSources;
    use crate::decode::schema::Schema;
    use crate::model::node::{NodeId, NodeKind};
    use crate::model::source::Source;
    use crate::model::{Decoder, Document};

    /// Whether each node's row holds `query`, as its whole label shows it.
    fn holding(doc: &Document, query: &str) -> Vec<bool> {
        let holds = |id: NodeId| {
            let mut line = String::new();
            crate::render::tree::label(doc, id, &doc.node(id), &mut line);
            !doc.is_transparent(id) && line.to_ascii_lowercase().contains(query)
        };
        NodeId::ROOT.up_to(doc.end()).map(holds).collect()
    }

    #[test]
    fn the_first_match_among_any_steps_is_the_first_row_holding_the_query_there() {
        // Entries read from their bytes (a flat run) and the sample's units: every range of
        // steps a slice of a search may look at, from several starts, both ways.
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        // Entries whose index is written twice (`index`, then `index[1]`), side by side.
        let twice: Vec<u8> = (0..40u8).flat_map(|i| [0x0a, 6, 0x08, i, 0x08, i + 1, 0x10, 7]).collect();
        let proto = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/search_lists.proto");
        let lists =
            Arc::new(Schema::load(&SchemaSources { proto_files: vec![proto], ..SchemaSources::default() }).unwrap());
        // A VP's registers with segments, one holding an unknown field (a problem, its row
        // `-3-`), a table register, and an APIC with a packed run: messages a search passes
        // over whole where their rows cannot hold the query or, read from their bytes, do
        // not, unless a problem is in them. And clean registers with `rdx` given twice: its
        // second row is `rdx[1]`.
        let rdx_twice = vec![0x0a, 11, 0x18, 0x05, 0x18, 0x06, 0x9a, 0x01, 0x04, 0x10, 0x07, 0x18, 0x10];
        #[rustfmt::skip]
        let vp = vec![
            0x0a, 25, 0x18, 0x05,
            0x9a, 0x01, 0x04, 0x10, 0x07, 0x18, 0x10,
            0xa2, 0x01, 0x07, 0x10, 0x09, 0x7a, 0x03, b'-', b'3', b'-',
            0xda, 0x01, 0x03, 0x08, 0x80, 0x20,
            0x22, 0x07, 0x08, 0x05, 0x12, 0x03, 0x01, 0x02, 0x03,
            0x28, 0x05,
        ];
        for (schema, root, bytes) in [
            (&schema, "sample.virt.x86.VpSavedState", vp),
            (&schema, "sample.virt.x86.VpSavedState", rdx_twice),
            (&schema, "sample.virt.x86.Msrs", crate::samples::msr_entries(3_000)),
            (&schema, "sample.virt.x86.Msrs", twice),
            (&schema, crate::samples::ROOT_TYPE, crate::samples::VM_STATE.to_vec()),
            (&lists, "searchlists.Entries", list_entries(60)),
        ] {
            let root = schema.pool.get_message_by_name(root);
            let doc = Decoder::new(Arc::clone(schema), root).decode(Source::new(bytes));
            let queries = ["12", "0x", "msrentry", "value", "]: s", "4 (0x", "= 3", "vmtime", "1", "[1", "2]", "7 ("];
            let words = ["-3", "elements", "packed", "no-such-word", "segmentregister", "ds", "limit", "login"];
            // Only in an Any's own row, or in its URL's, where its payload is passed over.
            let anys = ["any → sample.vmtime", "googleapis.com/sample.vmtime", "com/sample.chipset.pit"];
            let numbers = ["3221225", "0000", "18", "80", "0", "5", "9"];
            first_matches_hold(&doc, queries.into_iter().chain(numbers).chain(words).chain(anys));
        }
    }

    #[test]
    fn a_search_through_units_left_cold_finds_the_first_row_holding_the_query() {
        // The sample VM with a unit of 64 VPs left cold: its nodes are decoded when read.
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let root = schema.pool.get_message_by_name(crate::samples::ROOT_TYPE);
        let decoder = Decoder::new(Arc::clone(&schema), root).keeping_nodes_up_to(0);
        let doc = decoder.decode(Source::new(crate::samples::large_vm(1)));
        first_matches_hold(
            &doc,
            ["[63]", "#000001", "0xffffffff8100003f", "no-such-word", "limit", "0000"].into_iter(),
        );
    }

    #[test]
    fn a_search_whose_time_is_up_at_once_goes_on_from_where_it_stopped_and_finds_what_one_pass_finds() {
        // Many pieces of steps, each slice's time up before it begins: each looks at one
        // piece or two, and the next goes on from the step it says is left.
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let root = schema.pool.get_message_by_name(crate::samples::ROOT_TYPE);
        let doc = Decoder::new(Arc::clone(&schema), root).decode(Source::new(crate::samples::large_vm(1 << 20)));
        let len = doc.node_count() as u32;
        assert!(len > 8 * super::PIECE_STEPS, "{len} nodes");
        for query in ["pit#000001", "no-such-word", "98765432123", "[63]"] {
            for forward in [true, false] {
                let search = Search::new(query.to_owned(), forward, NodeId::from_index(len as usize / 2));
                let whole = search.first_match(&doc, 1..len + 1, None);
                let (mut looked, mut slices) = (0, 0);
                let sliced = loop {
                    slices += 1;
                    match search.first_match(&doc, looked + 1..len + 1, Some(std::time::Instant::now())) {
                        Ok(found) => break Ok(found),
                        Err(left) => {
                            assert!(left > looked + 1, "/{query}: no step looked at after {looked}");
                            looked = left - 1;
                            if looked >= len {
                                break Err(left);
                            }
                        }
                    }
                };
                assert_eq!(sliced, whole, "/{query} forward {forward}");
                assert!(slices > 1 || whole.is_ok_and(|(step, _)| step <= 2 * super::PIECE_STEPS), "/{query}");
            }
        }
    }

    #[test]
    fn runs_of_one_field_passed_over_are_told_apart_by_their_counts() {
        // Three messages whose runs of one field hold 2, 12 and 3 values: each message is
        // passed over whole where its run's row (`counts: packed uint32 = [12 elements]`)
        // does not hold the query, known once a count.
        let proto = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/search_lists.proto");
        let sources = SchemaSources { proto_files: vec![proto], ..SchemaSources::default() };
        let schema = Arc::new(Schema::load(&sources).unwrap());
        let counted =
            |id: usize, values: usize| format!("counted {{ id: {id} counts {{{}}} }}", " counts: 5".repeat(values));
        let root = schema.pool.get_message_by_name("searchlists.CountedList").unwrap();
        let text = [counted(0, 2), counted(1, 12), counted(2, 3)].concat();
        let message = prost_reflect::DynamicMessage::parse_text_format(root.clone(), &text).unwrap();
        let bytes = prost::Message::encode_to_vec(&message);
        let doc = Decoder::new(Arc::clone(&schema), Some(root)).decode(Source::new(bytes));
        assert!(doc.problems().is_empty(), "{:?}", doc.problems());
        let queries = ["[12 elements", "[2 elements", "3 elements]"];
        first_matches_hold(&doc, queries.into_iter().chain(["[11]", "5"]));
        // Each subtree passed over holds no row that holds the query, asked in order with
        // what one scratch knows of the rows met before.
        for query in queries {
            let holds = holding(&doc, query);
            let search = Search::new(query.to_owned(), true, NodeId::ROOT);
            let mut scratch = search.scratch();
            let mut passed = 0;
            for id in NodeId::ROOT.up_to(doc.end()) {
                let node = doc.node(id);
                if search.passes_over(&doc, id, &node, || doc.field_info(id), &mut scratch) {
                    let held = id.up_to(node.next).find(|at| holds[at.index()]);
                    assert_eq!(held, None, "/{query}: {id:?} passed over");
                    passed += 1;
                }
            }
            assert!(passed > 0, "/{query}: no subtree passed over");
        }
    }

    /// Checks that a search for each of `queries` over every range of steps a slice of it
    /// may look at, from several starts, both ways, finds the first row holding it there.
    fn first_matches_hold<'a>(doc: &Document, queries: impl Iterator<Item = &'a str>) {
        let len = doc.node_count() as u32;
        for query in queries {
            let holds = holding(doc, query);
            for forward in [true, false] {
                for from in [0, 5, len / 3, len - 1] {
                    let search = Search::new(query.to_owned(), forward, NodeId::from_index(from as usize));
                    let at = |step: u32| match forward {
                        true => (from + step) % len,
                        false => (from + len - step % len) % len,
                    };
                    for start in (1..=len).step_by((len as usize / 24).max(3)) {
                        for width in [1, 2, 3, 8, 41].into_iter().chain((start < 10).then_some(len)) {
                            let steps = start..(start + width).min(len + 1);
                            let expected = steps.clone().find(|&step| holds[at(step) as usize]);
                            let expected = expected.map(|step| (step, NodeId::from_index(at(step) as usize)));
                            let found = search.first_match(doc, steps.clone(), None).ok();
                            assert_eq!(found, expected, "/{query} forward {forward} from {from}, steps {steps:?}");
                        }
                    }
                }
            }
        }
    }

    /// A length-delimited field `number` holding `content`.
    fn len_field(number: u64, content: &[u8], out: &mut Vec<u8>) {
        crate::decode::wire::write_varint(out, number << 3 | 2);
        crate::decode::wire::write_varint(out, content.len() as u64);
        out.extend_from_slice(content);
    }

    /// A `VpSavedState` made of `fields`: each a register (a number, given again or not),
    /// a segment of up to three numbers, the APIC's packed registers, a signed offset, or
    /// an unknown field (a problem).
    fn vp_state(fields: &[(u8, u64)]) -> Vec<u8> {
        use crate::decode::wire::write_varint;
        let (mut registers, mut apic, mut out) = (Vec::new(), Vec::new(), Vec::new());
        for &(kind, value) in fields {
            match kind % 6 {
                // rax..rdi, rip, rflags, cr0: varints.
                0 => {
                    write_varint(&mut registers, [1, 2, 3, 7, 17, 18, 29][(value % 7) as usize] << 3);
                    write_varint(&mut registers, value >> 3);
                }
                1 => {
                    let mut segment = Vec::new();
                    for (number, part) in [(2u64, value & 0xffff), (3, value >> 16 & 0xff), (4, value >> 24)] {
                        write_varint(&mut segment, number << 3);
                        write_varint(&mut segment, part);
                    }
                    len_field([19, 20, 24, 25][(value % 4) as usize], &segment, &mut registers);
                }
                2 => write_varint(&mut apic, value & 0xffff_ffff),
                3 => {
                    write_varint(&mut out, 5 << 3);
                    write_varint(&mut out, value);
                }
                4 => len_field(15, &value.to_le_bytes()[..(value % 8) as usize], &mut registers),
                _ => {
                    let mut table = Vec::new();
                    write_varint(&mut table, 2 << 3);
                    write_varint(&mut table, value & 0xffff);
                    len_field(27, &table, &mut registers);
                }
            }
        }
        let mut state = Vec::new();
        len_field(1, &registers, &mut state);
        if !apic.is_empty() {
            let mut packed = Vec::new();
            len_field(2, &apic, &mut packed);
            len_field(4, &packed, &mut state);
        }
        state.extend_from_slice(&out);
        state
    }

    proptest::proptest! {
        /// A search over random VP states (registers given twice, unknown fields, packed
        /// values) finds, from the top down or the bottom up, the first row that holds the
        /// query looked at alone: the messages it passes over whole or reads from their
        /// bytes hide no match.
        #[test]
        fn a_search_through_vp_states_finds_the_first_row_that_holds_the_query(
            fields in proptest::collection::vec(
                (0u8..6, proptest::prop_oneof![0u64..2000, proptest::prelude::any::<u64>()]),
                0..24,
            ),
            query in proptest::prop_oneof![
                "[0-9]{1,2}", "[0-9]{3,4}", "0x[0-9a-f]{1,2}", "[a-z]{1,3}", proptest::strategy::Just("-".to_owned()),
                proptest::strategy::Just("[1]".to_owned()), proptest::strategy::Just("elements".to_owned()),
            ],
        ) {
            static SCHEMA: std::sync::OnceLock<Arc<Schema>> = std::sync::OnceLock::new();
            let schema = SCHEMA.get_or_init(|| Arc::new(Schema::load(&SchemaSources::default()).unwrap()));
            let root = schema.pool.get_message_by_name("sample.virt.x86.VpSavedState");
            let doc = Decoder::new(Arc::clone(schema), root).decode(Source::new(vp_state(&fields)));
            let len = doc.node_count() as u32;
            for forward in [true, false] {
                let search = Search::new(query.clone(), forward, NodeId::ROOT);
                // Each row looked at alone (a bytes value's bytes are looked through too).
                let mut scratch = search.scratch();
                let mut holds = |id: NodeId| search.finds(&doc, id, &doc.node(id), doc.field_info(id), &mut scratch);
                let at = |step: u32| NodeId::from_index(if forward { step } else { len - step } as usize);
                let expected = (1..len).find(|&step| holds(at(step))).map(|step| (step, at(step)));
                proptest::prop_assert_eq!(search.first_match(&doc, 1..len, None).ok(), expected, "/{} forward {}", query, forward);
            }
        }
    }

    #[test]
    fn each_row_of_entries_read_from_their_bytes_matches_as_its_label_reads() {
        // From each entry's row (where a search reads the run from its bytes) past each of
        // its rows, forward from the top: leaves of each unsigned width, a signed one, and
        // a list's values, whose `[i]` alone may hold the query. The steps are twice as
        // many as up to the row: the first half, read from the bytes, holds it.
        let proto = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/search_lists.proto");
        let schema =
            Arc::new(Schema::load(&SchemaSources { proto_files: vec![proto], ..SchemaSources::default() }).unwrap());
        let root = schema.pool.get_message_by_name("searchlists.Entries");
        let doc = Decoder::new(Arc::clone(&schema), root).decode(Source::new(list_entries(40)));
        let len = doc.node_count() as u32;
        let unique = ["3999999964", "6b27", "18446744073709", "c000008", "273"];
        for query in ["0", "1", "5", "7", "9", "[2", "values[1]", "= 7"].into_iter().chain(unique) {
            let holds = holding(&doc, query);
            let search = Search::new(query.to_owned(), true, NodeId::ROOT);
            let mut entry = 1;
            for step in 1..len {
                if doc.node(NodeId::from_index(step as usize)).kind == NodeKind::Message {
                    entry = step;
                }
                let steps = entry..(2 * step + 2 - entry).min(len);
                let found = search.first_match(&doc, steps.clone(), None).ok();
                let expected = steps.clone().find(|&at| holds[at as usize]);
                let expected = expected.map(|at| (at, NodeId::from_index(at as usize)));
                assert_eq!(found, expected, "/{query}, steps {steps:?}");
            }
        }
    }

    /// `count` entries of `searchlists.Entries`, each with a number of every unsigned width,
    /// a repeated one written a value at a time (one to three of them) and a signed one.
    fn list_entries(count: u64) -> Vec<u8> {
        fn varint(mut v: u64, out: &mut Vec<u8>) {
            while v >= 0x80 {
                out.push(v as u8 | 0x80);
                v >>= 7;
            }
            out.push(v as u8);
        }
        let mut out = Vec::new();
        for i in 0..count {
            // `id: uint32 = 7` and `values[k]: uint32 = 0`: of some entries' rows, only
            // `values[1]`'s index holds `1`.
            let mut entry = vec![0x08, 7];
            for _ in 0..=i % 3 {
                entry.extend_from_slice(&[0x10, 0]);
            }
            entry.push(0x19);
            entry.extend_from_slice(&(0xc000_0080_u64 << 20 | i).to_le_bytes());
            entry.push(0x20);
            varint(u64::MAX - i * 12_345, &mut entry);
            entry.push(0x2d);
            entry.extend_from_slice(&(4_000_000_000_u32 - i as u32 * 9).to_le_bytes());
            entry.push(0x30);
            varint(i * 7, &mut entry);
            out.push(0x0a);
            varint(entry.len() as u64, &mut out);
            out.extend_from_slice(&entry);
        }
        out
    }
}
