//! The quick walk `check` takes over a top-level message field: whether it would decode
//! with no problem at all, and how many fields it holds, without building a node. It is
//! conservative: whatever it does not follow to the end (a group, a packed run, a fixed
//! array, an unknown field, an Any it cannot resolve exactly, anything that does not read)
//! makes it give up, and the field is built the usual way, which finds and words its
//! problems. So a clean field costs a scan of its bytes, and a damaged one is reported
//! exactly as before.

use std::ops::Range;

use super::{AnyTarget, Frame, Level, Walker};
use crate::decode::schema::{FieldClass, FieldInfo, TypeIndex, TypeInfo, VarintRange};
use crate::decode::wire::{self, PackedRun, RawField, WireType};
use crate::model::node::{NodeId, NodeKind};
use crate::model::problem::{InputText, ProblemKind};
use crate::model::unit_names::unit_name_at;

/// A message being skimmed.
struct Open {
    ty: TypeIndex,
    pos: usize,
    end: usize,
    level: Level,
    /// For an Any: its payload's type, and where its last `value` field (the payload) starts.
    payload: Option<(TypeIndex, usize)>,
    /// Whether a declared field was met (an enum-like message needs one).
    declared_met: bool,
    /// Which of its type's fixed arrays were met, by their place in `packed_only`.
    arrays_met: u64,
}

/// A run of clean messages of one leaves-only type ([`Walker::leaves_run`]): how many,
/// the fields under them, and the last.
struct LeavesRun {
    count: u32,
    fields: usize,
    last: RawField,
}

/// What a skim found: the fields counted, and the length of each fixed array met first
/// in it (kept only if the whole field skims clean).
#[derive(Default)]
pub(super) struct Skimmed {
    stack: Vec<Open>,
    first_lengths: Vec<((TypeIndex, u32), u32)>,
}

/// How often a quick way over what is usually clean is tried after it fails: skims of
/// top-level fields (a top level where every unit has a problem, each then built, would
/// otherwise pay a failed skim before each build), and steps over a packed run's values
/// (a run of values out of range, each then read). After a few failures in a row, the
/// next are read the long way without trying, twice as many each time (up to
/// [`Backoff::MOST_SKIPPED`]); a try that succeeds starts over. Either way, they read the
/// same.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    failed_in_a_row: u32,
    skip: u32,
}

impl Backoff {
    /// Failures in a row before fields are built without trying.
    const FAILURES_ALLOWED: u32 = 4;
    /// The most fields built in a row without trying.
    const MOST_SKIPPED: u32 = 64;

    /// Whether to try a skim now.
    pub(super) fn tries(&mut self) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        true
    }

    /// A skim was tried: whether it skimmed anything.
    pub(super) fn tried(&mut self, skimmed: bool) {
        if skimmed {
            self.failed_in_a_row = 0;
            return;
        }
        self.failed_in_a_row += 1;
        if let Some(past) = self.failed_in_a_row.checked_sub(Self::FAILURES_ALLOWED) {
            self.skip = (1u32 << past.min(6)).min(Self::MOST_SKIPPED);
        }
    }
}

impl Walker<'_, '_> {
    /// Under a skimming decoder, streaming: reads on from the root's `frame` past the
    /// top-level message fields that skim clean. Only the last of such a run becomes a
    /// node, carrying the fields of them all, so a million small top-level fields cost a
    /// million skims, not a million nodes each handed to the hook alone. It stops before a
    /// field that is not clean (which [`Self::step`] then builds); a unit whose name is
    /// taken ends the run as its node, with that problem.
    /// Whether it made a node.
    pub(super) fn skim_run(&mut self, frame: &mut Frame) -> bool {
        let Some(root) = self.runs_under(frame) else { return false };
        if !self.skim_backoff.tries() {
            return false;
        }
        // The last field skimmed and its type; the fields under them all, and how many.
        let mut last = None;
        let (mut fields, mut run) = (0, 0);
        let mut taken = None;
        // The field number read last and its type: a run is mostly of one field.
        let mut known = None;
        // The field number skimmed last, and how many of it in a row, not yet counted.
        let mut in_a_row: Option<(u32, u32)> = None;
        while frame.pos < frame.end && taken.is_none() {
            let Some((raw, ty)) = self.top_level_message(root, frame.pos, frame.end, &mut known) else { break };
            let skim = self.skim_clean(frame.level, &raw, ty);
            if run == 0 {
                self.skim_backoff.tried(skim.is_some());
            }
            let Some((inner, name)) = skim else { break };
            frame.pos = raw.end;
            let number = raw.tag.field_number;
            in_a_row = match in_a_row {
                Some((same, n)) if same == number => Some((same, n + 1)),
                Some((other, n)) => {
                    self.bump_by(frame.counts_at, other, n);
                    Some((number, 1))
                }
                None => Some((number, 1)),
            };
            (fields, run, taken) = (fields + inner, run + 1, name);
            last = Some((raw, ty));
            // The rest of a run of one type whose fields are all leaves (a dense top level's
            // entries) in a loop of its own, the type looked up once rather than per entry.
            if let Some(rest) = self.leaves_run(frame, number, ty) {
                frame.pos = rest.last.end;
                in_a_row = in_a_row.map(|(same, n)| (same, n.saturating_add(rest.count)));
                (fields, run) = (fields + rest.fields, run + rest.count as usize);
                last = Some((rest.last, ty));
            }
        }
        let (Some((raw, ty)), Some((number, n))) = (last, in_a_row) else { return false };
        let index = self.bump_by(frame.counts_at, number, n) + n - 1;
        // Each field before the last counts as one more under it.
        self.skimmed_node(frame.node, &raw, index, ty, fields + run - 1, taken);
        true
    }

    /// The clean fields of `number` from the root's `frame` on, each a message of `ty`
    /// with a one-byte tag and length, when `ty`'s fields are all leaves and a message of it
    /// just skimmed clean there (so its depth is allowed); `None` when not one follows.
    fn leaves_run(&self, frame: &Frame, number: u32, ty: TypeIndex) -> Option<LeavesRun> {
        let info = self.info(ty);
        if !info.leaves_only {
            return None;
        }
        let (buf, mut pos) = (self.buf(), frame.pos);
        let (mut count, mut fields, mut last) = (0, 0, None);
        while let Some(raw) = short_field(buf, pos, frame.end, number) {
            let Some(inner) = leaves(buf, info, raw.value_start..raw.value_end) else { break };
            (count, fields, pos) = (count + 1, fields + inner, raw.end);
            last = Some(raw);
        }
        Some(LeavesRun { count, fields, last: last? })
    }

    /// Under a skimming decoder, streaming: reads on from the root's `frame` past top-level
    /// fields the root does not declare (groups aside), each a raw node with its warning as
    /// [`Self::step`] makes it, in one loop, up to a hand-over's worth of nodes: a million
    /// unknown top-level fields are not a million steps. A root of no type (no type fits
    /// the blob) declares none: all its fields are read so. Once no field's own problem is
    /// kept (the root has no type, so they have none, or their warnings are counted on the
    /// last one kept), the fields are only counted, and the last of them stands for the
    /// others as a skimmed node: a million distinct unknown fields are not a million nodes
    /// either. Whether it read any.
    pub(super) fn unknown_run(&mut self, frame: &mut Frame) -> bool {
        if !self.reads_runs(frame) {
            return false;
        }
        let root = frame.ty;
        let first = self.b.node_count();
        // How many problems there were when the last one came to count those of the
        // fields after it: while that stays so, each field's warning is one more of it.
        let mut counting_at = None;
        // The last field only counted, its index, and how many were.
        let mut counted: Option<(RawField, u32, usize)> = None;
        while frame.pos < frame.end && self.b.node_count() - first < super::HELD_NODES {
            // A group is not read through here (the step reads it, once): its wire type is
            // in the tag's first byte, however long the tag.
            if self.buf()[frame.pos] & 7 == WireType::StartGroup as u8 {
                break;
            }
            let Ok(raw) = wire::read_field_inline(self.buf(), frame.pos, frame.end) else { break };
            let number = raw.tag.field_number;
            if root.is_some_and(|root| self.info(root).field_index(number).is_some()) {
                break;
            }
            frame.pos = raw.end;
            let index = self.bump(frame.counts_at, number);
            if root.is_none() || counting_at == Some(self.b.problems().len()) {
                if root.is_some() {
                    self.b.count_on_last();
                }
                counted = Some((raw, index, counted.map_or(1, |(_, _, n)| n + 1)));
                continue;
            }
            self.unknown_field(frame, &raw, index);
            let counts_unknown = self
                .b
                .problems()
                .last()
                .is_some_and(|last| last.more_alike > 0 && matches!(last.kind, ProblemKind::UnknownField { .. }));
            counting_at = counts_unknown.then(|| self.b.problems().len());
        }
        if let Some((raw, index, n)) = counted {
            let node = self.raw_field(frame, &raw, index);
            if n > 1 {
                self.b.skimmed(node, n - 1);
            }
        }
        self.b.node_count() > first
    }

    /// The root's type, when top-level fields may be read in runs: under a skimming decoder
    /// with a hook (`check`), no focus, and a root that is no Any.
    fn runs_under(&self, frame: &Frame) -> Option<TypeIndex> {
        frame.ty.filter(|_| self.reads_runs(frame))
    }

    /// Whether the root's top-level fields, at `frame`, may be read in runs: under a
    /// skimming decoder with a hook, no focus, and a root that is no Any.
    fn reads_runs(&self, frame: &Frame) -> bool {
        let decoder = self.b.decoder();
        decoder.skims()
            && decoder.focus().is_none()
            && self.hook.is_some()
            && frame.node == NodeId::ROOT
            && matches!(frame.any, AnyTarget::NotAny)
    }

    /// A top-level field at `pos` that is a message of a type `root` declares; `known`, the
    /// field number met last and its type, is looked at first and kept up to date.
    pub(super) fn top_level_message(
        &mut self,
        root: TypeIndex,
        pos: usize,
        end: usize,
        known: &mut Option<(u32, TypeIndex)>,
    ) -> Option<(RawField, TypeIndex)> {
        if let Some((number, ty)) = *known
            && let Some(raw) = short_field(self.buf(), pos, end, number)
        {
            return Some((raw, ty));
        }
        // The tag first: a group is not read through here (the step reads it, once).
        if wire::read_tag(self.buf(), pos, end).ok()?.0.wire_type != WireType::Len {
            return None;
        }
        let raw = wire::read_field_inline(self.buf(), pos, end).ok()?;
        if let Some((number, ty)) = *known
            && number == raw.tag.field_number
        {
            return Some((raw, ty));
        }
        let field_index = self.info(root).field_index(raw.tag.field_number)?;
        let is_message = matches!(self.field_info(root, field_index).class, FieldClass::Message(_));
        if !is_message {
            return None;
        }
        let ty = self.child_type(root, field_index)?;
        *known = Some((raw.tag.field_number, ty));
        Some((raw, ty))
    }

    /// Skims a top-level message field of type `ty` under the root at `level`: how many
    /// fields it holds when clean, and the name it gives its unit if that name is taken.
    pub(super) fn skim_clean(
        &mut self,
        level: Level,
        raw: &RawField,
        ty: TypeIndex,
    ) -> Option<(usize, Option<InputText>)> {
        if level.depth + 1 > self.limits.max_depth {
            return None;
        }
        let info = self.info(ty);
        if info.leaves_only {
            return Some((leaves(self.buf(), info, raw.value_start..raw.value_end)?, None));
        }
        // A unit's name is checked against those met before, as the unit rules do: a unit
        // that is clean but for a name already taken is skimmed too, with that problem.
        let named = info.is_state_unit && info.field(1).is_some_and(|f| matches!(f.class, FieldClass::String));
        let fields = self.skim(ty, raw.value_start..raw.value_end, level.nested(false))?;
        let name = named.then(|| unit_name_at(self.b.bytes(), raw.value_start, raw.value_end)).flatten();
        let earlier = self.earlier_names.as_ref();
        let taken = name.filter(|at| self.unit_names.taken(self.b.bytes(), at.clone(), earlier)).map(InputText::at);
        for (array, length) in self.skimmed.first_lengths.drain(..) {
            self.array_lengths.insert(array, length);
        }
        Some((fields, taken))
    }

    /// The node of a skimmed top-level field: no children, `fields` counted under it.
    fn skimmed_node(
        &mut self,
        root: NodeId,
        raw: &RawField,
        index: u32,
        ty: TypeIndex,
        fields: usize,
        taken: Option<InputText>,
    ) {
        let kind = if self.info(ty).is_any { NodeKind::Any } else { NodeKind::Message };
        let node = self.push(root, kind, raw, index, Some(ty));
        self.b.set_next(node, node + 1);
        self.b.skimmed(node, fields);
        if let Some(name) = taken {
            self.problem(node, raw.value_start, ProblemKind::DuplicateUnitName { name });
        }
    }

    /// How many fields the message of type `ty` at `span` holds, nested ones included,
    /// when none of them would have a problem; `None` when one might.
    fn skim(&mut self, ty: TypeIndex, span: Range<usize>, level: Level) -> Option<usize> {
        let mut skimmed = std::mem::take(&mut self.skimmed);
        skimmed.first_lengths.clear();
        let fields = self.skim_with(&mut skimmed, ty, span, level);
        skimmed.stack.clear();
        self.skimmed = skimmed;
        fields
    }

    /// [`Self::skim`] with room to reuse: a skim per top-level field then allocates
    /// nothing.
    fn skim_with(&mut self, skimmed: &mut Skimmed, ty: TypeIndex, span: Range<usize>, level: Level) -> Option<usize> {
        skimmed.stack.push(self.open(ty, span, level)?);
        let mut fields = 0;
        while let Some(open) = skimmed.stack.last_mut() {
            if open.pos >= open.end {
                let info = self.info(open.ty);
                let every_array = u64::MAX >> (64 - info.packed_only.len().max(1));
                let arrays_missing = !info.packed_only.is_empty() && open.arrays_met != every_array;
                if arrays_missing || (info.enum_like && !open.declared_met) {
                    return None;
                }
                skimmed.stack.pop();
                continue;
            }
            let raw = wire::read_field_inline(self.buf(), open.pos, open.end).ok()?;
            open.pos = raw.end;
            fields += 1;
            let (ty, level, payload) = (open.ty, open.level, open.payload);
            if let Some((payload, at)) = payload
                && (raw.tag.field_number, raw.tag.wire_type) == (2, WireType::Len)
            {
                // Only the last value is the payload; an earlier one is plain bytes.
                if raw.start == at {
                    if level.any_depth + 1 > self.limits.max_any_depth || level.depth + 1 > self.limits.max_depth {
                        return None;
                    }
                    let payload = self.open(payload, raw.value_start..raw.value_end, level.nested(true))?;
                    skimmed.stack.push(payload);
                }
                continue;
            }
            let field_index = self.info(ty).field_index(raw.tag.field_number)?;
            open.declared_met = true;
            let field = self.field_info(ty, field_index);
            match (&field.class, raw.tag.wire_type) {
                (FieldClass::Message(_), WireType::Len) => {
                    if level.depth + 1 > self.limits.max_depth {
                        return None;
                    }
                    let child = self.child_type(ty, field_index)?;
                    let span = raw.value_start..raw.value_end;
                    if self.info(child).leaves_only {
                        fields += leaves(self.buf(), self.info(child), span)?;
                    } else {
                        let child = self.open(child, span, level.nested(false))?;
                        skimmed.stack.push(child);
                    }
                }
                // A fixed array: each value counts as a field, and its length is checked
                // against the others of its type when built.
                (FieldClass::Scalar(w), WireType::Len) if field.is_list && field.packed_only => {
                    let values = packed_values(&self.buf()[raw.value_start..raw.value_end], *w, field.range)?;
                    fields += values;
                    let array = (ty, raw.tag.field_number);
                    let length = u32::try_from(values).ok()?;
                    let place = self.info(ty).packed_only.iter().position(|&n| n == array.1)?;
                    let first = self
                        .array_lengths
                        .get(&array)
                        .copied()
                        .or_else(|| skimmed.first_lengths.iter().find(|(a, _)| *a == array).map(|&(_, l)| l));
                    match first {
                        Some(first) if first != length => return None,
                        Some(_) => {}
                        None => skimmed.first_lengths.push((array, length)),
                    }
                    skimmed.stack.last_mut().expect("the message read from").arrays_met |= 1 << place;
                }
                // A fixed array written unpacked: built, so that its check runs.
                _ if field.packed_only => return None,
                _ => fields += leaf(self.buf(), field, &raw)? - 1,
            }
        }
        Some(fields)
    }

    /// A message to skim, its Any resolved if it is one; `None` for an Any whose type URL
    /// is not exactly the one its type expects.
    fn open(&mut self, ty: TypeIndex, span: Range<usize>, level: Level) -> Option<Open> {
        if self.info(ty).packed_only.len() > 64 {
            return None;
        }
        let payload = if self.info(ty).is_any { Some(self.resolve_exactly(span.clone())?) } else { None };
        Some(Open { ty, pos: span.start, end: span.end, level, payload, declared_met: false, arrays_met: 0 })
    }

    /// An Any's payload type and where its last `value` field starts, when every field of
    /// it reads and its last type URL is exactly `type.googleapis.com/` and a known type.
    fn resolve_exactly(&mut self, span: Range<usize>) -> Option<(TypeIndex, usize)> {
        let (url, last_value) = any_url_and_payload(self.buf(), span)?;
        let (payload, exact) = self.resolve_url(url?)?;
        exact.then_some((payload, last_value))
    }
}

/// The last type URL of the Any at `span` and where its last `value` field (its payload)
/// starts (`usize::MAX` when it has none), when every field of it reads.
pub(in crate::model) fn any_url_and_payload(buf: &[u8], span: Range<usize>) -> Option<(Option<Range<usize>>, usize)> {
    let (mut url, mut last_value, mut pos) = (None, usize::MAX, span.start);
    while pos < span.end {
        let field = wire::read_field(buf, pos, span.end).ok()?;
        match (field.tag.field_number, field.tag.wire_type) {
            (1, WireType::Len) => url = Some(field.value_start..field.value_end),
            (2, WireType::Len) => last_value = field.start,
            _ => {}
        }
        pos = field.end;
    }
    Some((url, last_value))
}

/// The top-level field at `pos` when it is one more of field `number` (the one met last)
/// under a one-byte tag with a one-byte length, as most of a dense top level is: read
/// from its two bytes, without decoding a tag or length.
#[inline(always)]
fn short_field(buf: &[u8], pos: usize, end: usize, number: u32) -> Option<RawField> {
    let tag = u8::try_from(number << 3 | WireType::Len as u32).ok()?;
    let value_end = wire::short_len_field_end(buf, pos, end, tag)?;
    let tag = wire::Tag { field_number: number, wire_type: WireType::Len };
    Some(RawField {
        tag,
        start: pos,
        tag_len: 1,
        len_len: 1,
        value_start: pos + 2,
        value_end,
        end: value_end,
        scalar: 0,
    })
}

/// How many fields a message of a type whose fields are all leaves
/// ([`TypeInfo::leaves_only`]) holds at `span`, when none of them would have a problem.
fn leaves(buf: &[u8], info: &TypeInfo, span: Range<usize>) -> Option<usize> {
    let (mut pos, mut fields) = (span.start, 0);
    while pos < span.end {
        if let Some(next) = usual_leaf_end(buf, info, pos, span.end) {
            (pos, fields) = (next, fields + 1);
            continue;
        }
        let raw = wire::read_field_inline(buf, pos, span.end).ok()?;
        pos = raw.end;
        fields += leaf(buf, info.field(raw.tag.field_number)?, &raw)?;
    }
    Some(fields)
}

/// Where the leaf at `pos` (before `end`) of a message of type `info` ends when it is the
/// usual one, a varint under a one-byte tag, that reads clean as `info` declares it: told
/// from its bytes alone ([`clean_varint_end`]). `None` for any other, which the caller
/// then reads whole.
#[inline(always)]
pub(super) fn usual_leaf_end(buf: &[u8], info: &TypeInfo, pos: usize, end: usize) -> Option<usize> {
    clean_varint_end(buf, pos + 1, end, info.varint_under_short_tag(buf[pos])?)
}

/// Where the varint at `pos` ends, when it ends by `end` and `range` surely holds it,
/// told from its bytes without gathering its value: it ends at the first byte with the
/// high bit clear, and a narrow one fits when it is shorter than five bytes or its fifth
/// byte is small enough. `None` when that does not show in its first eight bytes (too
/// few in `buf`, longer, or out of range): the caller then reads it whole.
#[inline(always)]
fn clean_varint_end(buf: &[u8], pos: usize, end: usize, range: Option<VarintRange>) -> Option<usize> {
    let word = u64::from_le_bytes(buf.get(pos..pos.checked_add(8)?)?.try_into().ok()?);
    let len = wire::varint_len_in_word(word)?;
    let last = (word >> ((len - 1) * 8)) as u8;
    let holds = match range {
        None => true,
        // Bits 28 to 31 are the fifth byte's low four; int32's sign bit is the fourth.
        Some(VarintRange::Unsigned32) => len < 5 || len == 5 && last <= 0x0f,
        Some(VarintRange::Signed32) => len < 5 || len == 5 && last <= 0x07,
        Some(VarintRange::Bool) => len == 1 && last <= 1,
    };
    (holds && pos + len <= end).then_some(pos + len)
}

/// How many fields a clean leaf field `raw` (declared as `field`) counts as: one, or a
/// packed run's values besides; `None` when it would have a problem (invalid UTF-8, the
/// wrong wire type, a value out of range).
#[inline(always)]
pub(super) fn leaf(buf: &[u8], field: &FieldInfo, raw: &RawField) -> Option<usize> {
    match (&field.class, raw.tag.wire_type) {
        (FieldClass::String, WireType::Len) => {
            super::invalid_utf8_at(&buf[raw.value_start..raw.value_end]).is_none().then_some(1)
        }
        (FieldClass::Bytes, WireType::Len) => Some(1),
        (FieldClass::Scalar(w), WireType::Len) if field.is_list => {
            Some(1 + packed_values(&buf[raw.value_start..raw.value_end], *w, field.range)?)
        }
        (FieldClass::Scalar(w), found) if *w == found && found != WireType::Len => {
            field.range.is_none_or(|range| range.holds(raw.scalar)).then_some(1)
        }
        _ => None,
    }
}

/// How many values a packed run of `wire`-typed scalars holds, when every one reads whole
/// and is within `range`.
fn packed_values(run: &[u8], wire: WireType, range: Option<VarintRange>) -> Option<usize> {
    let mut values = 0;
    for value in PackedRun::new(0..run.len(), wire).values(run) {
        let raw = value.ok()?.raw;
        if range.is_some_and(|range| !range.holds(raw)) {
            return None;
        }
        values += 1;
    }
    Some(values)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{clean_varint_end, short_field};
    use crate::decode::schema::VarintRange;
    use crate::decode::wire;

    /// A varint of `value`, `padding` bytes longer than it need be (each a continuation
    /// of zero bits), as a writer that does not keep them minimal may leave it.
    fn varint(value: u64, padding: usize) -> Vec<u8> {
        let mut out = Vec::new();
        wire::write_varint(&mut out, value);
        if padding > 0 {
            *out.last_mut().expect("a varint has a byte") |= 0x80;
            out.extend(std::iter::repeat_n(0x80, padding - 1));
            out.push(0);
        }
        out
    }

    /// Values at the edges of the ranges, and any.
    fn values() -> impl Strategy<Value = u64> {
        let edges = [0, 1, 2, 127, 128, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000, 1 << 49, u64::MAX];
        prop_oneof![proptest::sample::select(edges.to_vec()), any::<u64>(), 0u64..300, 0u64..1 << 35]
    }

    proptest! {
        // Cheap cases, many of them: the edges of four ranges meet eight-byte windows.
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Whenever a varint's bytes alone say it ends by `end` and its range holds it,
        /// reading it whole agrees: it ends there and the range holds its value. And a
        /// minimal one of up to eight bytes, with eight bytes to look at and in range, is
        /// told so (else the quick way would never be taken).
        #[test]
        fn a_varint_told_clean_by_its_bytes_reads_clean(
            value in values(),
            padding in prop_oneof![Just(0usize), 1usize..4],
            after in proptest::collection::vec(any::<u8>(), 0..16),
            cut in 0usize..12,
            range in proptest::sample::select(vec![None, Some(VarintRange::Unsigned32), Some(VarintRange::Signed32), Some(VarintRange::Bool)]),
        ) {
            let mut bytes = vec![0x08];
            bytes.extend(varint(value, padding));
            let varint_end = bytes.len();
            bytes.extend(&after);
            let end = bytes.len().saturating_sub(cut).max(1);
            let read = wire::read_varint(&bytes, 1, end).ok().map(|(value, len)| (value, 1 + len));
            let told = clean_varint_end(&bytes, 1, end, range);
            if let Some(told) = told {
                let (value, read_end) = read.expect("told clean, so it reads");
                prop_assert_eq!(told, read_end);
                prop_assert!(range.is_none_or(|range| range.holds(value)));
            }
            let minimal_short = padding == 0 && varint_end - 1 <= 8 && bytes.len() >= 9 && varint_end <= end;
            if minimal_short && range.is_none_or(|range| range.holds(value)) {
                prop_assert_eq!(told, Some(varint_end));
            }
        }

        /// A top-level field read from its two bytes as one more of the field met last
        /// is the field a full read finds there: one-byte tags and lengths only (field
        /// 16's tag is two bytes, the first with the high bit set), within `end`.
        #[test]
        fn a_short_field_is_the_field_a_full_read_finds(
            mut bytes in proptest::collection::vec(prop_oneof![any::<u8>(), Just(0x01), Just(0x85)], 0..160),
            number in 1u32..40,
            its_tag_first in any::<bool>(),
            cut in 0usize..4,
        ) {
            // Most often the field's own tag byte first (its low byte, for field 16 on).
            if its_tag_first && !bytes.is_empty() {
                bytes[0] = (number << 3 | 2) as u8;
            }
            let end = bytes.len().saturating_sub(cut);
            if let Some(raw) = short_field(&bytes, 0, end, number) {
                prop_assert_eq!(Ok(raw), wire::read_field_inline(&bytes, 0, end));
                prop_assert_eq!(raw.tag.field_number, number);
            }
        }
    }
}
