//! Stepping over a long run of small fields (a gigabyte of small messages, often) on
//! several walks at once: each field's end is read from its length byte, so one walk is a
//! chain of loads that each wait for the one before; walks from a few places in the run,
//! interleaved, keep the core busy (1.15 GB of MSR entries in memory: 0.74 s on one walk,
//! 0.12 s on four). The walks are joined where each reaches the start of the next, and the
//! answer is always the one a single walk gives: past a walk that started off the run's
//! fields, the run is walked one field at a time.

mod prefetch;

use super::short_len_field_end;

/// How many walks go at once.
const LANES: usize = 4;

/// How many fields from a place must read, each where the one before ends, for a walk to
/// start there.
const FIELDS_TO_START: u32 = 16;

/// How far past its share's start a walk looks for a place to start: a field of the run
/// (a tag, a length below 128, that many bytes) starts within this many bytes of any place
/// inside the run.
const LOOKS_FOR_START: usize = 130;

/// Fewer bytes than this are walked one field at a time: setting walks up costs more.
pub(super) const LANES_FROM: usize = 64 << 10;

/// The fields from `pos` that [`short_len_field_end`] reads with `tag`, while they start
/// before `until`, at most `most` of them, stepped over one at a time: where the walk
/// stops, and how many it stepped over.
#[inline]
pub(super) fn one_walk(buf: &[u8], pos: usize, until: usize, end: usize, tag: u8, most: u32) -> (usize, u32) {
    let (mut pos, mut met) = (pos, 0);
    while met < most
        && pos < until
        && let Some(next) = short_len_field_end(buf, pos, end, tag)
    {
        // The cutter walks each part's bytes first, before its decode: 11.6% of `show`'s
        // time on 100 MB of MSR entries, 4.5% with the bytes asked for ahead.
        prefetch::fetch(buf, pos + prefetch::AHEAD);
        (pos, met) = (next, met + 1);
    }
    (pos, met)
}

/// [`one_walk`], on [`LANES`] walks at once.
pub(super) fn walk_in_lanes(buf: &[u8], start: usize, until: usize, end: usize, tag: u8, most: u32) -> (usize, u32) {
    let stop = until.min(end);
    let share = stop.saturating_sub(start) / LANES;
    // Where each walk starts: the first at `start`, each other one near its share's start.
    let (mut from, mut lanes) = ([start; LANES], 1);
    for k in 1..LANES {
        let near = start + k * share;
        if let Some(at) = walk_start(buf, near, (near + LOOKS_FOR_START).min(stop), end, tag)
            && at > from[lanes - 1]
        {
            (from[lanes], lanes) = (at, lanes + 1);
        }
    }
    // Each walk goes up to where the next starts; the last one up to `until`.
    let mut bound = [until; LANES];
    bound[..lanes - 1].copy_from_slice(&from[1..lanes]);
    let (mut pos, mut met, mut walking) = (from, [0u32; LANES], [true; LANES]);
    loop {
        let mut any = false;
        for k in 0..lanes {
            if !walking[k] {
                continue;
            }
            match short_len_field_end(buf, pos[k], end, tag).filter(|_| pos[k] < bound[k]) {
                Some(next) => (pos[k], met[k], any) = (next, met[k] + 1, true),
                None => walking[k] = false,
            }
        }
        if !any {
            break;
        }
    }
    // Joined in order: a single walk goes on into a walk where it stops on one of its
    // fields. `known` is a place a single walk reaches, with its count there.
    let (mut at, mut total, mut known) = (pos[0], met[0], (start, 0));
    for k in 1..lanes {
        if total >= most || at < from[k] {
            break;
        }
        // The walk before stopped within a field of this one's start: on its fields (`into`
        // of them from its start), or off them.
        let (on, into) = one_walk(buf, from[k], at, end, tag, u32::MAX);
        match met[k].checked_sub(into).filter(|_| on == at) {
            Some(more) => (known, at, total) = ((at, total), pos[k], total + more),
            None => {
                let (stopped, more) = one_walk(buf, at, until, end, tag, most - total);
                return (stopped, total + more);
            }
        }
    }
    if total > most {
        let (stopped, more) = one_walk(buf, known.0, until, end, tag, most - known.1);
        return (stopped, known.1 + more);
    }
    (at, total)
}

/// The first place from `near` up to `before` where [`FIELDS_TO_START`] fields read one
/// after another.
fn walk_start(buf: &[u8], near: usize, before: usize, end: usize, tag: u8) -> Option<usize> {
    (near..before).find(|&at| one_walk(buf, at, end, end, tag, FIELDS_TO_START).1 == FIELDS_TO_START)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::one_walk;
    use crate::decode::wire::step_over_short_run;

    /// `fields` small fields of tag 0x0a, each of at most `longest` bytes, from `seed`;
    /// with `decoys`, their bytes look like such fields themselves (a walk may start off
    /// the run's fields and step over many before it stops); another field's tag before
    /// field `break_at`.
    fn run(seed: u64, fields: usize, longest: u8, decoys: bool, break_at: Option<usize>) -> Vec<u8> {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut buf = Vec::new();
        for k in 0..fields {
            if break_at == Some(k) {
                buf.push(0x12);
            }
            let len = (next() % (u64::from(longest) + 1)) as u8;
            buf.extend([0x0a, len]);
            for _ in 0..len {
                let byte = next();
                buf.push(if decoys && byte % 2 == 0 {
                    0x0a
                } else if decoys {
                    (byte % 8) as u8
                } else {
                    byte as u8
                });
            }
        }
        buf
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// However the run is cut short, by its end, `until`, `most` or a field that is not
        /// one of it, and wherever the walks start, the answer is a single walk's.
        #[test]
        fn a_run_walked_in_lanes_ends_where_one_walk_ends(
            seed: u64,
            fields in 20_000usize..60_000,
            longest in 0u8..40,
            decoys: bool,
            break_at in proptest::option::of(0usize..60_000),
            start in prop_oneof![Just(0usize), 0usize..64],
            (until_cut, end_cut) in (0usize..4, 0usize..4),
            most in prop_oneof![Just(u32::MAX), 0u32..60_000],
        ) {
            let buf = run(seed, fields, longest, decoys, break_at);
            let cut = |sevenths: usize| buf.len() - sevenths * buf.len() / 7;
            let (until, end) = (cut(until_cut), cut(end_cut));
            let stepped = step_over_short_run(&buf, start, until, end, 0x0a, most);
            prop_assert_eq!(stepped, one_walk(&buf, start, until, end, 0x0a, most));
        }
    }
}
