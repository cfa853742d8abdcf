//! The state unit names around an edit of top-level fields: which names of the units put
//! in were given before them (those units take the "duplicate unit name" the whole decode
//! would give them), and whether a unit after the edit has a name whose first giving the
//! edit moves (its problem would then come or go, so the whole is decoded again).

use std::ops::Range;
use std::sync::Arc;

use crate::decode::wire;
use crate::model::unit_names::{self, EarlierNames, NamesMet};

/// Which of `names` a state unit among the top-level fields in `range` of `bytes` has
/// (units being the fields of numbers `units`); `None` when the range does not read as
/// whole top-level fields, as nothing is then known of the names in it.
pub(super) fn given_in(bytes: &[u8], range: Range<usize>, units: &[u32], names: &[&[u8]]) -> Option<Vec<bool>> {
    let mut given = vec![false; names.len()];
    let mut pos = range.start;
    while pos < range.end && given.contains(&false) {
        let field = wire::read_field(bytes, pos, range.end).ok()?;
        if let Some(name) = unit_names::unit_name_of(bytes, &field, units) {
            for (given, _) in given.iter_mut().zip(names).filter(|(_, n)| **n == name) {
                *given = true;
            }
        }
        pos = field.end;
    }
    Some(given)
}

/// `names` as names given before the fields decoded alone: a unit of theirs that has one
/// takes it again (`None` for none).
pub(super) fn given_before<'n>(names: impl IntoIterator<Item = &'n [u8]>) -> Option<EarlierNames> {
    let met = NamesMet::default();
    met.met(names);
    let before = met.mark();
    (before > 0).then(|| EarlierNames { met: Arc::new(met), before })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{SAMPLE, assert_reads_as, decoder, replaced};
    use crate::decode::wire::WireType;
    use crate::model::node::{NodeId, NodeKind};
    use crate::model::problem::ProblemKind;
    use crate::model::source::Source;

    #[test]
    fn edits_where_unit_names_are_given_twice_read_as_the_whole_decoded_again() {
        let decoder = decoder();
        // The sample four times over: every unit of the copies after the first takes a name
        // given before it, as the real state repeated does.
        let blob = SAMPLE.repeat(4);
        let mut seed = 11u64;
        let mut below = |n: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n.max(1)
        };
        let (mut carried_over, mut twice_after) = (0, 0);
        for round in 0..60u8 {
            let doc = decoder.decode(Source::new(blob.clone()));
            let tops: Vec<_> = doc.top_level_from(NodeId::ROOT + 1).collect();
            let start_of = |i: usize| tops.get(i).map_or(blob.len(), |&id| doc.node(id).start as usize);
            // Where a unit's name starts, in its bytes (its first field).
            let name_at = |id: NodeId| (doc.node(id + 1).value_start() - doc.node(id).start) as usize;
            let (span, put) = match round % 3 {
                // Whole units taken out, one or two, and maybe a unit put in: a copy of one,
                // under its own name, a name given nowhere else, or a name given after it.
                0 | 1 => {
                    let from = below(tops.len());
                    let taken = (1 + below(2)).min(tops.len() - from);
                    let mut put = Vec::new();
                    if below(3) > 0 {
                        let copied = tops[below(tops.len())];
                        let unit = doc.node(copied);
                        put = blob[unit.start as usize..unit.end() as usize].to_vec();
                        match below(3) {
                            0 => put[name_at(copied)] = b'a' + round % 26,
                            1 => put[name_at(copied)] = b'Z',
                            _ => {}
                        }
                    }
                    (start_of(from)..start_of(from + taken), put)
                }
                // Inside a unit: a number's last byte changed, or its name's first letter.
                _ => {
                    let top = tops[below(tops.len())];
                    let numbers: Vec<_> = top
                        .up_to(doc.node(top).next)
                        .filter(|&id| {
                            doc.node(id).kind == NodeKind::Scalar && doc.node(id).wire == Some(WireType::Varint)
                        })
                        .collect();
                    match numbers.get(below(numbers.len() * 2)) {
                        Some(&id) => (
                            doc.node(id).value_end as usize - 1..doc.node(id).value_end as usize,
                            vec![below(128) as u8],
                        ),
                        None => {
                            let at = doc.node(top).start as usize + name_at(top);
                            (at..at + 1, vec![if below(2) == 0 { b'Z' } else { blob[start_of(below(tops.len())) + 4] }])
                        }
                    }
                }
            };
            let (carried, whole) = replaced(doc, span, &put);
            let twice = whole.problems().iter().filter(|p| matches!(p.kind, ProblemKind::DuplicateUnitName { .. }));
            twice_after += usize::from(twice.count() > 0);
            if let Some(carried) = carried {
                assert_reads_as(&carried, &whole);
                carried_over += 1;
            }
        }
        assert!(twice_after == 60, "every edit left names given twice");
        assert!(carried_over > 30, "{carried_over} of 60 carried over");
    }
}
