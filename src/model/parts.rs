//! Decoding a large blob's top level in parts on every core. A scan cuts the root's fields
//! at field boundaries as threads come free, counting the top-level fields before each cut
//! and recording the unit names it meets, and each part is decoded from that count, as if
//! nothing else came before it, a few parts ahead of the one taken next. A part's result
//! stands when what came before could not have changed it: its fixed arrays have the
//! lengths met before, and the search for likely causes still had more budget left than
//! the part used (names met before it are asked of the scan's). From the first part that
//! fails that, the rest is decoded again in order, starting one part earlier (a byte
//! shifted out of a unit shows only in the next), exactly as one pass would; a part that
//! stands but gathered more than it may hold is decoded again alone. So healthy and
//! damaged blobs alike are read on every core, and reported exactly as the single pass
//! reports them.
//!
//! Two hostile shapes stay on every core too: a top level of a million distinct field
//! numbers (the counts before a part are carried as the walk keeps them, a bit each), and
//! a blob damaged everywhere, whose search budget the first part spends early: the parts
//! after it stop searching once it has, or once what it has spent and what they have
//! reach the whole ([`BudgetWatch`]), as the one pass does there, instead of searching
//! only to be decoded again.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::TryRecvError;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use crate::decode::schema::TypeTable;
use crate::decode::wire::{self, WireType};
use crate::model::builder::Builder;
use crate::model::cause;
use crate::model::decoder::{Decoder, TopLevelHook};
use crate::model::document::Document;
use crate::model::field_counts::FieldCounts;
use crate::model::node::{NodeId, NodeKind};
use crate::model::overlay::{self, BudgetWatch, Part, TopState};
use crate::model::source::Source;
use crate::model::unit_names::{self, EarlierNames, NamesMet};

/// How a large blob's top level is decoded in parts: on how many threads, and cut in
/// parts of at least how many bytes. Parts are decoded in order as threads come free, and
/// only a few more than there are threads are decoded ahead of the one taken next, so
/// what they gather (a part of `show`'s output) stays a few parts in size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pieces {
    /// Threads decoding parts.
    pub threads: usize,
    /// The least bytes of a part (a part ends at the first field boundary past them).
    pub bytes: usize,
}

/// The size from which a file is decoded in parts: below it, the threads cost more than
/// they save.
pub const PARTS_FROM: usize = 4 << 20;

/// The cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Pieces {
    /// One part per thread, each about an equal share of `len` bytes.
    pub fn per_thread(len: usize, threads: usize) -> Pieces {
        Pieces { threads, bytes: len / threads.max(1) }
    }

    /// For writing out a file of `len` bytes on `threads` threads (one below
    /// `PARTS_FROM`, 4 MiB): parts of 64 KiB, whose output a few at a time stays small
    /// beside the file (larger parts were quicker to hand between threads, but held a few
    /// MiB more: `show`'s peak then passed 1.2 times the file, and a part of distinct
    /// unknown fields passed the bound on the lines a part may hold).
    pub fn for_output(len: usize, threads: usize) -> Pieces {
        Pieces { threads: if len < PARTS_FROM { 1 } else { threads }, bytes: 64 << 10 }
    }
}

/// A part of the top level: its bytes, how often each top-level field occurred before it,
/// and how many distinct state unit names the scan met before it.
struct Cut {
    /// Which part it is, counted from 0.
    k: usize,
    place: Place,
    counts: FieldCounts,
    /// How many state units it holds, as the scan counted them (the last part's, never
    /// scanned, as many as the same bytes held before it).
    units: usize,
    /// Up to where its decode has handed over its top-level fields: how much its thread
    /// has left, for the thread cutting the part after it ([`Cutter::share_for_the_part_before`]).
    decoded_to: Arc<AtomicUsize>,
}

impl Cut {
    /// Part `k` at `place`, after the top-level fields `counts` counts.
    fn new(k: usize, place: Place, counts: FieldCounts) -> Cut {
        let decoded_to = Arc::new(AtomicUsize::new(place.range.start));
        Cut { k, place, counts, units: 0, decoded_to }
    }
}

/// Where a part is: its bytes, and the unit names met before it.
#[derive(Debug, Clone)]
struct Place {
    range: Range<usize>,
    /// Where the scan's record of names stood at the part ([`NamesMet::mark`]).
    names_before: usize,
}

/// What a part decoded on its own found.
struct Speculation<T> {
    /// What the part's `look` gathered from its top-level fields.
    found: T,
    /// Its own top-level state (as if only the counts came before).
    after: TopState,
    /// Whether it read to its end with nothing left over at the root.
    whole: bool,
    /// Whether its first field's own problems send the search for a shifted byte into the
    /// unit before it, which it does not have.
    needs_unit_before: bool,
}

/// What a top-level field of a part decoded on its own is handed to: the document, the
/// field, and what the part has gathered so far.
pub type Look<T> = dyn Fn(&Document, NodeId, &mut T) + Sync;

/// What a part gathers with its [`Look`].
pub trait Gathered: Default + Send {
    /// Whether it holds all its part gave it. One that could not (output too large to
    /// hold, say) is not taken: its part is decoded again in order, its fields handed to
    /// the hook as they come, and the parts after it go on as before.
    fn whole(&self) -> bool {
        true
    }
}

/// Decodes `source` streaming, like [`Decoder::decode_streaming`], with its top level in
/// parts on `pieces.threads` threads. Each part first gathers a `T` with `look`, on its
/// own; `take` gets, in order, the `T` of each part whose result stands, and `hook` sees,
/// in order, every top-level field of the parts decoded again after them. Returns the
/// document (the root and its problems).
pub fn decode_streaming_in_parts<T: Gathered>(
    decoder: &Decoder,
    source: Source,
    pieces: Pieces,
    look: &Look<T>,
    take: &mut dyn FnMut(T) -> std::io::Result<()>,
    hook: TopLevelHook<'_>,
) -> std::io::Result<Document> {
    let is_any = decoder.root_type().is_some_and(|m| m.full_name() == "google.protobuf.Any");
    if pieces.threads < 2 || is_any || source.len() < 2 * pieces.bytes.max(1) {
        return decoder.decode_streaming(source, hook);
    }
    // The first part's budget is the one pass's: once it has run out, the parts after it
    // search no more.
    let full_budget = cause::budget_for(source.len());
    let first = FirstPart::new(full_budget);
    let ahead = Ahead::new(pieces.threads * 2);
    let (found_out, found_in) = std::sync::mpsc::channel::<Found<T>>();
    let names = Arc::new(NamesMet::default());
    let mut cutter = Cutter::new(&source, decoder, pieces.bytes, Arc::clone(&names));
    // A top level that is one part (a field nearly the whole blob) has nothing to decode
    // beside it, and had it decoded twice when its output passed what a part may hold.
    let Some(first_cut) = cutter.next_cut().filter(|cut| cut.place.range.end < source.len()) else {
        drop(cutter);
        return decoder.decode_streaming(source, hook);
    };
    cutter.set_aside = Some(first_cut);
    let cutting = Mutex::new(cutter);
    let (again_at, state) = std::thread::scope(|scope| {
        let (ahead, cutting) = (&ahead, &cutting);
        // A mapped file's pages are mapped on a thread of their own, in order, ahead of
        // the scan and the parts, which would each fault them in a few at a time; the
        // first part waits for the scan meanwhile, so a core is free for it. (100 MB of
        // MSR entries: `check` 0.069 to 0.062 s, `show` -9%; the real state's `check`,
        // whose scan leaves no core idle, +3 ms.) A step at a time, so that output cut
        // short (`show | head`) does not wait for the rest of the file to be read.
        let whole = source.clone();
        scope.spawn(move || {
            let steps = (0..whole.len()).step_by(POPULATED_AT_A_STEP);
            for start in steps.take_while(|_| !ahead.stopped()) {
                if !whole.populate(start..start.saturating_add(POPULATED_AT_A_STEP)) {
                    break;
                }
            }
        });
        // Each thread cuts its next part itself, under one lock, so parts start in order,
        // and the thread that writes them out decodes parts too while the next one is not
        // in. (A thread of its own for the scan, handing cuts over, and a writer that only
        // waited, woke a thread or two more for every part: 5,200 context switches for
        // 100 MB of the real state, each dear on a virtual machine.)
        let (source, names, first) = (&source, &names, &first);
        let decode_next = move |types: &Cell<TypeTable>, wait: bool| {
            let room = if wait { ahead.wait_for_room() } else { ahead.room_at_once() };
            let cut = room.then(|| cutting.lock().unwrap_or_else(PoisonError::into_inner).next_cut())?;
            // Room is held only by parts cut and not yet taken: a thread waiting for room
            // then always waits on a part another thread will hand over.
            let Some(cut) = cut else {
                ahead.made_room();
                return None;
            };
            let job = PartJob { decoder, source: source.clone(), cut: &cut, names, look, types };
            let speculation = speculate(&job, cut.k, first, full_budget);
            Some((cut.k, cut.place, speculation))
        };
        for _ in 1..pieces.threads {
            let found_out = found_out.clone();
            scope.spawn(move || {
                // The types met, interned once per thread rather than once per part.
                let types = Cell::new(TypeTable::default());
                while let Some(found) = decode_next(&types, true) {
                    if found_out.send(found).is_err() {
                        break;
                    }
                }
            });
        }
        drop(found_out);
        // However this ends (a write that fails included), the threads stop.
        let _stop = Stops(ahead);
        let mut again = |place: Place, before: TopState| {
            let mut builder = Builder::new(source.clone(), decoder.clone());
            let before = with_names(before, names, place.names_before);
            let part = Part { range: place.range, before, partial: true, watch: None, units: 0 };
            overlay::build_part(&mut builder, Some(&mut *hook), false, Some(part))
        };
        let types = Cell::new(TypeTable::default());
        let mut decode_here = || decode_next(&types, false);
        let arrivals = Arrivals { found_in: &found_in, decode_here: &mut decode_here, early: BTreeMap::new() };
        take_in_order(arrivals, ahead, take, &mut again, full_budget)
    })?;
    let mut builder = Builder::new(source, decoder.clone());
    let before = with_names(state, &names, again_at.names_before);
    let part = Part { range: again_at.range.start..usize::MAX, before, partial: false, watch: None, units: 0 };
    overlay::build_part(&mut builder, Some(hook), false, Some(part))?;
    Ok(builder.finish())
}

/// How many bytes of a mapped file's pages are mapped at a step, ahead of the parts.
const POPULATED_AT_A_STEP: usize = 16 << 20;

/// `state` with the unit names met before a part: those the scan met before its record
/// stood at `before` (none to ask of when there are none).
fn with_names(state: TopState, names: &Arc<NamesMet>, before: usize) -> TopState {
    let earlier_names = (before > 0).then(|| EarlierNames { met: Arc::clone(names), before });
    TopState { earlier_names, ..state }
}

/// Decodes a part again in order, after the state before it, handing its fields to the
/// hook; gives the state after it.
type Again<'a> = dyn FnMut(Place, TopState) -> std::io::Result<TopState> + 'a;

/// Takes the parts' findings in order while their results stand; returns where the rest
/// is decoded again in order (the end, when every part stands), and the state there. A
/// part is taken only once the next one has been followed: a part whose first field
/// sends the search for a shifted byte into the unit before it has that unit decoded
/// again with it. A part that stands but could not hold all it found is decoded `again`
/// on its own, unless the part after it needs its last unit.
fn take_in_order<T: Gathered>(
    mut arrivals: Arrivals<'_, T>,
    ahead: &Ahead,
    take: &mut dyn FnMut(T) -> std::io::Result<()>,
    again: &mut Again<'_>,
    full_budget: usize,
) -> std::io::Result<(Place, TopState)> {
    // The state before the next part, as long as the parts before it stand.
    let mut before = TopState { budget_left: Some(full_budget), ..TopState::default() };
    // The last part that stands, not yet taken: where it is, the state before it, and
    // what it found.
    let mut held: Option<(Place, TopState, T)> = None;
    // Where the parts end: past every name met.
    let mut end = Place { range: 0..0, names_before: usize::MAX };
    for next in 0.. {
        let Some((place, part)) = arrivals.take(next) else { break };
        ahead.made_room();
        // A shift search at its first field looks into the unit before it, if one is kept.
        let needs_unit_before = part.needs_unit_before && before.ends_in_searched_unit;
        let stands = part.whole && !needs_unit_before;
        let Some(after) = stands.then(|| follow(&before, part.after, full_budget)).flatten() else {
            return match held {
                Some((place, state, _)) if needs_unit_before => Ok((place, state)),
                Some((_, _, found)) => take(found).map(|()| (place, before)),
                None => Ok((place, before)),
            };
        };
        end.range = place.range.end..place.range.end;
        if part.found.whole() {
            let before_it = std::mem::replace(&mut before, after);
            if let Some((_, _, found)) = held.replace((place, before_it, part.found)) {
                take(found)?;
            }
        } else {
            if let Some((_, _, found)) = held.take() {
                take(found)?;
            }
            // Decoded again now, its fields go out at once: only if the part after it
            // (decoded again too, when not) will not need its last unit.
            let needed = arrivals.arrived(next + 1).map(|(_, p)| p.needs_unit_before && after.ends_in_searched_unit);
            if needed != Some(false) {
                return Ok((place, before));
            }
            before = again(place, before)?;
        }
    }
    if let Some((_, _, found)) = held {
        take(found)?;
    }
    Ok((end, before))
}

/// What a part decoded on its own found, where it is, and which part it is.
type Found<T> = (usize, Place, Speculation<T>);

/// The parts decoded, as they come in from the other threads, or are decoded on the
/// thread taking them while the one it waits for is not in yet.
struct Arrivals<'a, T> {
    found_in: &'a std::sync::mpsc::Receiver<Found<T>>,
    /// Cuts and decodes the next part here, if there is one and room for it now.
    decode_here: &'a mut dyn FnMut() -> Option<Found<T>>,
    /// Parts in ahead of their turn.
    early: BTreeMap<usize, (Place, Speculation<T>)>,
}

impl<T> Arrivals<'_, T> {
    /// Part `k`, once it is in (decoding others meanwhile, where there is room); `None`
    /// when there is no such part: the top level has no more.
    fn arrived(&mut self, k: usize) -> Option<&(Place, Speculation<T>)> {
        while !self.early.contains_key(&k) {
            let (k, place, part) = match self.found_in.try_recv() {
                Ok(found) => found,
                Err(TryRecvError::Empty) => match (self.decode_here)() {
                    Some(found) => found,
                    // No room, or nothing left to cut: the part is being decoded elsewhere.
                    None => match self.found_in.recv() {
                        Ok(found) => found,
                        Err(_) => continue,
                    },
                },
                // The other threads are done: only a part cut here may be left.
                Err(TryRecvError::Disconnected) => (self.decode_here)()?,
            };
            self.early.insert(k, (place, part));
        }
        self.early.get(&k)
    }

    /// Part `k`, taken once it is in; `None` when there is no such part.
    fn take(&mut self, k: usize) -> Option<(Place, Speculation<T>)> {
        self.arrived(k)?;
        self.early.remove(&k)
    }
}

/// How many parts may be cut ahead of the one taken next, and whether the parts are to
/// stop.
struct Ahead {
    state: Mutex<Room>,
    changed: Condvar,
}

struct Room {
    /// Parts that may still be cut before one more is taken.
    left: usize,
    stop: bool,
}

impl Ahead {
    fn new(left: usize) -> Self {
        Ahead { state: Mutex::new(Room { left, stop: false }), changed: Condvar::new() }
    }

    fn room(&self) -> std::sync::MutexGuard<'_, Room> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until another part may be cut; false once the parts are to stop.
    fn wait_for_room(&self) -> bool {
        let mut room = self.room();
        while room.left == 0 && !room.stop {
            room = self.changed.wait(room).unwrap_or_else(PoisonError::into_inner);
        }
        if room.stop {
            return false;
        }
        room.left -= 1;
        true
    }

    /// Whether another part may be cut now, without waiting (taking the room if so).
    fn room_at_once(&self) -> bool {
        let mut room = self.room();
        let free = room.left > 0 && !room.stop;
        room.left -= usize::from(free);
        free
    }

    /// A part was taken, or room taken went unused (nothing was left to cut): one more
    /// may be cut.
    fn made_room(&self) {
        self.room().left += 1;
        self.changed.notify_all();
    }

    fn stopped(&self) -> bool {
        self.room().stop
    }
}

/// Tells the parts to stop when dropped.
struct Stops<'a>(&'a Ahead);

impl Drop for Stops<'_> {
    fn drop(&mut self) {
        self.0.room().stop = true;
        self.0.changed.notify_all();
    }
}

/// Decodes one part, starting from its counts, as if nothing else came before it; again
/// without a search budget, if the first part's ran out while this one was searching.
fn speculate<T: Default>(job: &PartJob<'_, T>, k: usize, first: &FirstPart, full_budget: usize) -> Speculation<T> {
    let spent = Arc::clone(&first.spent);
    if k == 0 {
        // Said done however the decode ends, so no part waits on it for ever.
        let _done = SaysDone(first);
        return job.attempt(TopState::default(), Some(BudgetWatch::Says(spent))).0;
    }
    let (speculation, ran_out) = job.attempt(TopState::default(), Some(BudgetWatch::Heeds(spent)));
    // A part that searched before it learnt the budget had run out, or that ended before
    // the first part said (it may have had the cores to itself), decodes again without a
    // budget once the first part says so, rather than be decoded again in order.
    let after = &speculation.after;
    let searched = !after.without_budget && after.budget_left.is_some_and(|left| left < full_budget);
    if ran_out || (searched && first.spends_all()) {
        let none_left = TopState { budget_left: Some(0), without_budget: true, ..TopState::default() };
        return job.attempt(none_left, None).0;
    }
    speculation
}

/// What the first part says of the search budget, to the parts decoded beside it: how
/// much it has spent (as the first part's walk spends it), and when it is done.
struct FirstPart {
    spent: Arc<AtomicUsize>,
    /// The whole budget.
    full: usize,
    done: Mutex<bool>,
    said: Condvar,
}

impl FirstPart {
    fn new(full: usize) -> Self {
        FirstPart { spent: Arc::default(), full, done: Mutex::new(false), said: Condvar::new() }
    }

    /// Whether the first part has spent the whole budget.
    fn spent_all(&self) -> bool {
        self.spent.load(Ordering::Relaxed) >= self.full
    }

    /// Whether the first part spends the whole budget: waits until it has, or is done.
    fn spends_all(&self) -> bool {
        let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        while !*done && !self.spent_all() {
            // The walk says what it has spent with no notice: looked at every 1 ms.
            let waited = self.said.wait_timeout(done, std::time::Duration::from_millis(1));
            done = waited.unwrap_or_else(PoisonError::into_inner).0;
        }
        self.spent_all()
    }
}

/// Says the first part is done when dropped.
struct SaysDone<'a>(&'a FirstPart);

impl Drop for SaysDone<'_> {
    fn drop(&mut self) {
        *self.0.done.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.0.said.notify_all();
    }
}

/// What decoding one part takes: the decoder, the whole blob, the part, and what looks at
/// each of its top-level fields.
struct PartJob<'a, T> {
    decoder: &'a Decoder,
    source: Source,
    cut: &'a Cut,
    /// The unit names the scan met.
    names: &'a Arc<NamesMet>,
    look: &'a Look<T>,
    /// The types its thread met in the parts before: lent to each decode of it, and
    /// given back with those it meets.
    types: &'a Cell<TypeTable>,
}

impl<T: Default> PartJob<'_, T> {
    /// One decode of the part, after the counts and names before it and the rest of
    /// `before`; and whether it stopped because the first part's search budget ran out.
    fn attempt(&self, before: TopState, watch: Option<BudgetWatch>) -> (Speculation<T>, bool) {
        let PartJob { decoder, source, cut, names, look, types } = self;
        let mut found = T::default();
        // A top-level field that does not read puts the rest of the top level out of step:
        // one pass reads all that follows as one unreadable span, which this part cannot.
        let mut in_step = true;
        let mut first = None;
        let mut hook = |doc: &Document, top: NodeId| {
            // Every top-level field handed over, from `top` on (a few hundred at a time).
            let mut last = top;
            for id in doc.top_level_from(top) {
                in_step &= doc.kind_of(id) != NodeKind::Error;
                last = id;
            }
            let decoded_to = usize::try_from(doc.node(last).value_end).unwrap_or(usize::MAX);
            cut.decoded_to.store(decoded_to, Ordering::Relaxed);
            first.get_or_insert_with(|| doc.problems_of(top).iter().any(|p| p.kind.puts_top_level_out_of_step()));
            look(doc, top, &mut found);
            Ok(())
        };
        let mut builder = Builder::with_types(source.clone(), (*decoder).clone(), types.take());
        let before = TopState { counts: cut.counts.clone(), ..before };
        let before = with_names(before, names, cut.place.names_before);
        let part = Part { range: cut.place.range.clone(), before, partial: true, watch, units: cut.units };
        let after = overlay::build_part(&mut builder, Some(&mut hook), false, Some(part));
        let ran_out = after.as_ref().is_err_and(|e| e.kind() == overlay::BUDGET_RAN_OUT_BEFORE);
        let whole = in_step && after.is_ok() && builder.problems().is_empty();
        let needs_unit_before = first.unwrap_or(false);
        types.set(std::mem::take(builder.types_mut()));
        (Speculation { found, after: after.unwrap_or_default(), whole, needs_unit_before }, ran_out)
    }
}

/// The state after a part, when what came before (`before`) could not have changed what
/// the part found on its own (`part`, which began with the counts and unit names before
/// it, and the whole budget or none): its fixed arrays have the lengths met before, and
/// its searches are those the one pass makes there: the budget left before it exceeds what
/// it used (so no search of its ran out where it did not), it used none (a search that
/// decodes no trial finds nothing), or it searched nothing because none was left.
fn follow(before: &TopState, part: TopState, full_budget: usize) -> Option<TopState> {
    let left = before.budget_left.unwrap_or(full_budget);
    let used = if part.without_budget { 0 } else { full_budget - part.budget_left.unwrap_or(0).min(full_budget) };
    // A part that began with the budget the one pass had there searched as it would; one
    // that searched nothing because the first part's budget ran out, only where it had.
    let searched_alike = if part.without_budget { left == 0 } else { left >= full_budget || left > used || used == 0 };
    let arrays_agree =
        part.array_lengths.iter().all(|(key, count)| before.array_lengths.get(key).is_none_or(|c| c == count));
    if !searched_alike || !arrays_agree {
        return None;
    }
    // The part's counts already hold those before it: they are taken, not copied (a
    // hostile top level has a million distinct numbers). Names met before a part are
    // asked of the scan's, as the part was.
    let mut array_lengths = before.array_lengths.clone();
    for (key, count) in part.array_lengths {
        array_lengths.entry(key).or_insert(count);
    }
    Some(TopState {
        counts: part.counts,
        earlier_names: None,
        array_lengths,
        budget_left: Some(left - used),
        // The one pass keeps a unit for the search only while budget is left.
        ends_in_searched_unit: part.ends_in_searched_unit && left > used,
        damaged: before.damaged | part.damaged,
        without_budget: false,
    })
}

/// The repeated scalar fields of `root` (each may come as a packed run), and the wire type
/// of their values.
fn packable_fields(root: &prost_reflect::MessageDescriptor) -> Vec<(u32, WireType)> {
    root.fields()
        .filter(|f| f.is_list())
        .filter_map(|f| Some((f.number(), crate::decode::schema::scalar_wire(&f.kind())?)))
        .collect()
}

/// Counts the fields met in a row (a field number and how many), and starts a new row.
fn count_in_a_row(counts: &mut FieldCounts, (number, met): &mut (u32, u32)) {
    if *met > 0 {
        counts.bump(*number, std::mem::take(met));
    }
}

/// How many unit names a scan records under one hold of the lock: a part asking after a
/// name waits for at most these.
const NAMES_RECORDED_AT_ONCE: usize = 4096;

/// The least share of the last part set aside for the thread decoding the part before it
/// (or a sixteenth of a part, if less): below it, a part of its own costs more than the
/// wait it saves.
const LEAST_SHARE: usize = 64 << 10;

/// The part handed out last: how far its decode has come, and where it ends.
struct BeingDecoded {
    to: Arc<AtomicUsize>,
    end: usize,
}

/// Cuts the top level into parts of at least a given size, at boundaries where a field
/// reads, each with the counts of the top-level fields before it; what follows a field
/// that does not read is in the last part. The unit names of each part go to the names
/// the parts share, in order, before the part after it is handed out: a part is handed
/// out as soon as its end is found, so the first part's names are read beside its decode,
/// not before it (100,000 units each named anew took a third of their `check` before any
/// part began). A part is also at least as large as the counts it is given (a hostile top
/// level has a million distinct numbers), so copying them costs no more than reading the
/// blob.
///
/// The thread cutting a part records the names before it first, while the part before it
/// is being decoded: with one part per thread, the last one then starts that much later
/// (41,000 units each named anew, 3 ms of a 20 ms `check`). So the last part is cut in
/// two when the thread decoding the part before has less left than it would: the first
/// piece is set aside for the next thread to come free, so that both end together.
struct Cutter<'a> {
    bytes: &'a [u8],
    least: usize,
    unit_fields: Vec<u32>,
    /// The root's repeated scalar fields, and their values' wire type: a packed run of one
    /// counts as many as the values it holds, as the decoder counts it. Their fields are
    /// read whole, never skimmed or stepped over.
    packable: Vec<(u32, WireType)>,
    /// Where the unit names before are recorded up to.
    names_at: usize,
    /// The next part: its number, where it starts and what came before it.
    next: Option<Cut>,
    /// Where the scan is, and what it has counted up to there.
    pos: usize,
    counts: FieldCounts,
    names: Arc<NamesMet>,
    /// The unit names read since they were last recorded, not yet among `names`: they are
    /// recorded [`NAMES_RECORDED_AT_ONCE`] at a time, under one lock rather than one each,
    /// once all are read and room is made for them. Each is hashed as it is read.
    names_pending: Vec<(&'a [u8], u64)>,
    /// The field number met last and how many of it in a row, not yet counted: most top
    /// levels are long runs of one field.
    in_a_row: (u32, u32),
    /// A part cut and not yet handed out: handed out next.
    set_aside: Option<Cut>,
    /// The part handed out last, until the part after it is cut.
    being_decoded: Option<BeingDecoded>,
    /// The first byte of the field met last, unless it may be a packed run: the fields
    /// after it with that one-byte tag of a length-delimited field and a one-byte length
    /// are stepped over without reading them anew ([`wire::short_len_field_end`]).
    short_tag: Option<u8>,
}

impl<'a> Cutter<'a> {
    fn new(bytes: &'a [u8], decoder: &Decoder, least: usize, names: Arc<NamesMet>) -> Self {
        let unit_fields = decoder.root_type().map(overlay::unit_fields).unwrap_or_default();
        let packable = decoder.root_type().map(packable_fields).unwrap_or_default();
        let first = Cut::new(0, Place { range: 0..0, names_before: 0 }, FieldCounts::default());
        Cutter {
            bytes,
            least: least.max(1),
            unit_fields,
            packable,
            names_at: 0,
            next: Some(first),
            pos: 0,
            counts: FieldCounts::default(),
            names,
            names_pending: Vec::new(),
            in_a_row: (0, 0),
            set_aside: None,
            being_decoded: None,
            short_tag: None,
        }
    }

    /// The next part to decode, the one set aside if there is one; `None` after the last.
    fn next_cut(&mut self) -> Option<Cut> {
        let cut = match self.set_aside.take() {
            Some(cut) => cut,
            None => self.cut()?,
        };
        self.being_decoded = Some(BeingDecoded { to: Arc::clone(&cut.decoded_to), end: cut.place.range.end });
        Some(cut)
    }

    /// How much of the last part, of `rest` bytes, to set aside for the thread decoding
    /// the part before it, so that both end together: half of what this one has beyond
    /// what that thread has left (both are read alike, as far as anything tells); `None`
    /// when there is too little for a part of its own.
    fn share_for_the_part_before(&mut self, rest: usize) -> Option<usize> {
        let before = self.being_decoded.take()?;
        let left = before.end.saturating_sub(before.to.load(Ordering::Relaxed));
        let share = rest.saturating_sub(left) / 2;
        (share >= LEAST_SHARE.min(self.least / 16).max(self.counts.bytes())).then_some(share)
    }

    /// Cuts the next part, once where it ends is found; `None` after the last.
    fn cut(&mut self) -> Option<Cut> {
        let mut cut = self.next.take()?;
        self.record_names_before(cut.place.range.start);
        cut.place.names_before = self.names.mark();
        let bytes = self.bytes;
        let mut least = self.least.max(self.counts.bytes());
        // The last part takes the rest when less than two parts' worth is left, less the
        // share set aside for the thread decoding the part before it.
        let rest = bytes.len() - cut.place.range.start;
        let sharing = rest < 2 * least;
        if sharing {
            let Some(share) = self.share_for_the_part_before(rest) else {
                cut.place.range.end = bytes.len();
                cut.units = self.units_in_rest(&cut);
                return Some(cut);
            };
            least = share;
        }
        // Only as far as the end of this part: its own decode reads it. A cut is made only
        // before a field that reads, so each part starts in step.
        while self.pos < bytes.len() {
            self.step_over_short_run(cut.place.range.start + least);
            if self.pos >= bytes.len() {
                break;
            }
            // Most fields are skimmed; a run of values (to count them) and anything
            // unusual are read.
            let skimmed = wire::skim_field(bytes, self.pos, bytes.len());
            let (number, next, counted_as) = match skimmed {
                Some((number, next)) if !self.is_packable(number) => (number, next, 1),
                _ => {
                    let Ok(field) = wire::read_field(bytes, self.pos, bytes.len()) else { break };
                    // The last field is counted for no cut after it: a blob that is one
                    // long packed run was read once more, for nothing, before its decode.
                    let counted_as = if field.end < bytes.len() { self.counted_as(&field) } else { 1 };
                    (field.tag.field_number, field.end, counted_as)
                }
            };
            if self.pos >= cut.place.range.start + least {
                count_in_a_row(&mut self.counts, &mut self.in_a_row);
                // How many names came before it is known once this part's are recorded.
                let place = Place { range: self.pos..self.pos, names_before: 0 };
                self.next = Some(Cut::new(cut.k + 1, place, self.counts.clone()));
                cut.place.range.end = self.pos;
                cut.units = self.units_counted(&self.counts).saturating_sub(self.units_counted(&cut.counts));
                if !sharing {
                    return Some(cut);
                }
                self.set_aside = Some(cut);
                return self.cut();
            }
            if number != self.in_a_row.0 {
                count_in_a_row(&mut self.counts, &mut self.in_a_row);
                self.in_a_row.0 = number;
            }
            self.in_a_row.1 = self.in_a_row.1.saturating_add(counted_as);
            // A run is read for its values: never stepped over. Only a one-byte tag of a
            // length-delimited field starts such a run: after any other (a million
            // distinct numbers' longer tags), the step is not tried.
            let tag = bytes[self.pos];
            self.short_tag = (wire::is_short_len_tag(tag) && !self.is_packable(number)).then_some(tag);
            self.pos = next;
        }
        cut.place.range.end = bytes.len();
        cut.units = self.units_in_rest(&cut);
        Some(cut)
    }

    /// How many state units `counts` holds.
    fn units_counted(&self, counts: &FieldCounts) -> usize {
        self.unit_fields.iter().map(|&number| counts.count(number) as usize).sum()
    }

    /// How many state units the last part, `cut`, is thought to hold: as many as the same
    /// bytes held before it.
    fn units_in_rest(&self, cut: &Cut) -> usize {
        let (before, start) = (self.units_counted(&cut.counts), cut.place.range.start);
        let rest = cut.place.range.len();
        if start == 0 { 0 } else { (before as u128 * rest as u128 / start as u128).try_into().unwrap_or(usize::MAX) }
    }

    /// Whether field `number` of the root may be a packed run.
    fn is_packable(&self, number: u32) -> bool {
        self.packable.iter().any(|&(n, _)| n == number)
    }

    /// Records the unit names of the top-level fields from where they are recorded up to
    /// `end` (the start of a part, so whole fields that read), in order.
    fn record_names_before(&mut self, end: usize) {
        // A root that declares no units has no names to record: its fields are not read
        // for them (100 MB of MSR entries read so, one at a time before the parts began,
        // made `check` on two cores slower than on one).
        if self.unit_fields.is_empty() {
            self.names_at = self.names_at.max(end);
            return;
        }
        let bytes = self.bytes;
        while self.names_at < end {
            // A field no unit is in is only stepped over (a top level of unknown fields
            // read each whole took as long as the part before it took to decode).
            if let Some((number, next)) = wire::skim_field(bytes, self.names_at, end)
                && !self.unit_fields.contains(&number)
            {
                self.names_at = next;
                continue;
            }
            let Ok(field) = wire::read_field(bytes, self.names_at, end) else { break };
            self.names_at = field.end;
            let name = unit_names::unit_name_of(bytes, &field, &self.unit_fields);
            // A name given again in a row (a hostile top level) is recorded once.
            if let Some(name) = name.filter(|name| self.names_pending.last().map(|&(last, _)| last) != Some(name)) {
                self.names_pending.push((name, unit_names::hash_of(name)));
            }
        }
        // Room for them all at once: a table grown as they come fills twice the pages.
        let bytes = self.names_pending.iter().map(|(name, _)| name.len() + 1).sum();
        self.names.reserve(self.names_pending.len(), bytes);
        for names in self.names_pending.chunks(NAMES_RECORDED_AT_ONCE) {
            self.names.met_hashed(names.iter().copied());
        }
        self.names_pending.clear();
    }

    /// How many fields the decoder counts `field` as: a packed run of a repeated scalar as
    /// many as the values it holds (one when it holds none or does not read, as the field
    /// it is then shown as), any other field one.
    fn counted_as(&self, field: &wire::RawField) -> u32 {
        let number = field.tag.field_number;
        match self.packable.iter().find(|&&(n, _)| n == number) {
            Some(&(_, wire)) if field.tag.wire_type == WireType::Len => {
                let run = wire::PackedRun::new(field.value_start..field.value_end, wire);
                run.count_if_whole(self.bytes).unwrap_or(1).max(1)
            }
            _ => 1,
        }
    }

    /// Steps over the fields at the scan's place while they have the one-byte tag of the
    /// field met last and a one-byte length (a run of small messages, the usual dense top
    /// level), each one more of that field; up to `until`, where a cut may be made. Each
    /// costs two bytes looked at, where reading it as any field costs three times as much.
    fn step_over_short_run(&mut self, until: usize) {
        let Some(tag) = self.short_tag else { return };
        let (pos, met) = wire::step_over_short_run(self.bytes, self.pos, until, self.bytes.len(), tag, u32::MAX);
        self.in_a_row.1 += met;
        self.pos = pos;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::wire::write_varint;
    use crate::model::redecode::tests::decoder;
    use crate::model::unit_names::UnitNames;

    /// Field `number` holding `bytes`.
    fn len_field(number: u64, bytes: &[u8]) -> Vec<u8> {
        let mut field = Vec::new();
        write_varint(&mut field, number << 3 | 2);
        write_varint(&mut field, bytes.len() as u64);
        field.extend_from_slice(bytes);
        field
    }

    /// A top-level unit field of the given name and no state.
    fn unit_field(name: &str) -> Vec<u8> {
        len_field(1, &len_field(1, name.as_bytes()))
    }

    #[test]
    fn the_scan_counts_each_parts_units_and_guesses_the_last_from_those_before() {
        // 400 units, then 300 small fields the root does not declare: every part but the
        // last has its units counted; the last, never scanned, is thought to hold units
        // as densely as the bytes before it.
        let units: Vec<Vec<u8>> = (0..400).map(|i| unit_field(&format!("u{i:03}"))).collect();
        let unit_starts: Vec<usize> =
            units.iter().scan(0, |at, unit| Some(std::mem::replace(at, *at + unit.len()))).collect();
        let mut blob = units.concat();
        blob.extend([0x12, 0x01, 0x05].repeat(300));
        let decoder = decoder();
        let mut cutter = Cutter::new(&blob, &decoder, 800, Arc::new(NamesMet::default()));
        // In order: a piece set aside comes after the part cut after it.
        let mut cuts: Vec<Cut> = std::iter::from_fn(|| cutter.next_cut()).collect();
        cuts.sort_by_key(|cut| cut.k);
        let cuts: Vec<(Range<usize>, usize)> = cuts.into_iter().map(|cut| (cut.place.range, cut.units)).collect();
        let starting_in = |range: &Range<usize>| unit_starts.iter().filter(|at| range.contains(at)).count();
        let (last, scanned) = cuts.split_last().expect("parts");
        assert!(scanned.len() >= 3, "{cuts:?}");
        for (range, counted) in scanned {
            assert_eq!(*counted, starting_in(range), "{cuts:?}");
        }
        let (range, guessed) = last;
        let before = starting_in(&(0..range.start));
        assert_eq!(*guessed, before * range.len() / range.start, "{cuts:?}");
    }

    /// `n` top-level units, each named anew (`u000`, `u001`, ...), all of one length.
    fn units_named_anew(n: usize) -> Vec<u8> {
        (0..n).flat_map(|i| unit_field(&format!("u{i:03}"))).collect()
    }

    #[test]
    fn the_last_part_is_shared_with_the_thread_that_has_less_left() {
        // Two parts of 400 units each named anew: while the names of the first are
        // recorded, its thread decodes a quarter of it. The last part is then cut in two,
        // its first piece (about half of what that thread now has less) set aside and
        // handed out after the rest: every part in order, each with its counts and names.
        let blob = units_named_anew(800);
        let unit_len = blob.len() / 800;
        let names = Arc::new(NamesMet::default());
        let decoder = decoder();
        let mut cutter = Cutter::new(&blob, &decoder, blob.len() / 2, Arc::clone(&names));
        let first = cutter.next_cut().expect("the first part");
        assert_eq!(first.place.range, 0..blob.len() / 2);
        first.decoded_to.store(blob.len() / 8, Ordering::Relaxed);
        let last = cutter.next_cut().expect("the last part");
        let set_aside = cutter.next_cut().expect("the piece set aside");
        assert!(cutter.next_cut().is_none());
        assert_eq!((set_aside.k, last.k), (1, 2));
        assert_eq!(set_aside.place.range, blob.len() / 2..last.place.range.start);
        assert_eq!(last.place.range.end, blob.len());
        // Half of the 400 units the last part had, less the 300 left before it.
        assert_eq!(set_aside.place.range.len(), 50 * unit_len);
        assert_eq!(set_aside.counts.count(1), 400);
        assert_eq!((last.counts.count(1), set_aside.units, last.units), (450, 50, 350));
        // Whether a part is told `name` was met before it, as its walk asks.
        let before = |cut: &Cut, name: &str| {
            let earlier = EarlierNames { met: Arc::clone(&names), before: cut.place.names_before };
            UnitNames::default().taken(name.as_bytes(), 0..name.len(), Some(&earlier))
        };
        assert!(before(&set_aside, "u399") && !before(&set_aside, "u400"));
        assert!(before(&last, "u449") && !before(&last, "u450"));
    }

    #[test]
    fn a_part_before_with_as_much_left_keeps_the_last_part_whole() {
        let blob = units_named_anew(800);
        let decoder = decoder();
        let mut cutter = Cutter::new(&blob, &decoder, blob.len() / 2, Arc::new(NamesMet::default()));
        let first = cutter.next_cut().expect("the first part");
        // Decoded a few units only: it has about as much left as the last part holds.
        first.decoded_to.store(blob.len() / 100, Ordering::Relaxed);
        let last = cutter.next_cut().expect("the last part");
        assert_eq!(last.place.range, blob.len() / 2..blob.len());
        assert!(cutter.next_cut().is_none());
    }
}
