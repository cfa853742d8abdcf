//! Queries: paths with selectors, the same language everywhere a path is taken. A step
//! is a field name followed by `[i]` (one element), `[*]` (every element) or
//! `[field=value]` (the elements whose `field` reads `value`), like
//! `units[name=pit].state.last` or `units[*].name`. A repeated field named without a
//! selector at the end of a query stands for all its elements.

use std::sync::atomic::AtomicBool;

use prost_reflect::MessageDescriptor;

use crate::decode::schema::FieldInfo;
use crate::model::flat_walk::FlatMessage;
use crate::model::node::Node;
use crate::model::path::{FieldPath, NEVER_STOPPED, PathError, VisibleChildren, step_is, stop_asked, visible_children};
use crate::model::value::{self, Scalar};
use crate::model::{Document, Focus, NodeId, NodeKind};

/// One step of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    name: String,
    selector: Selector,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector {
    /// No brackets: the field (all its elements when repeated).
    None,
    /// `[i]`.
    Index(u32),
    /// `[*]`.
    All,
    /// `[field=value]`.
    Key(String, String),
}

/// The top-level fields `query` needs decoded: the one occurrence its first step names by
/// index, or every occurrence of the field it names. `None` when that cannot be told (not
/// a query, a root that is an Any, a name the root type lacks): then decode all. The
/// others are read past without nodes, so a value of one unit of a gigabyte is found in
/// memory near the file's size; past the occurrence an index names, nothing is read.
pub fn focus(query: &str, root: Option<&MessageDescriptor>) -> Option<Focus> {
    let steps = parse(query).ok()?;
    let first = steps.first()?;
    let (number, packable) = Focus::top_level_field(root, &first.name)?;
    // An index counts values, and a packed run holds many: only a message's is its
    // occurrence; of a run, only the value named gets a node.
    Some(match first.selector {
        Selector::Index(i) if packable => Focus::default().with_value(number, i),
        Selector::Index(i) => Focus::default().with_occurrence(number, i).reading_no_further(),
        _ => Focus::default().with_field(number),
    })
}

/// The error a whole decode of `bytes` gives for plain path `query`, when its first step
/// names no field of `root` (or is not `#N`, with no root: raw wire fields) and a scan of
/// the top level's tags can say so ([`crate::model::path::absent_at_top_level`]); `None`
/// otherwise: then decode.
pub fn absent_without_decoding(query: &str, root: Option<&MessageDescriptor>, bytes: &[u8]) -> Option<PathError> {
    let path = FieldPath::parse(query).ok().filter(|_| !has_selectors(query))?;
    crate::model::path::absent_at_top_level(bytes, root, &path)
}

/// Whether `text` uses a selector (`[*]` or `[field=value]`): then it may name many nodes.
pub fn has_selectors(text: &str) -> bool {
    text.contains("[*]") || text.contains('=')
}

/// Every node `query` names in `doc`, in document order; an error when it names none or
/// is not a query.
pub fn select(doc: &Document, query: &str) -> Result<Vec<NodeId>, PathError> {
    select_until(doc, query, &NEVER_STOPPED)
}

/// [`select`], giving up with [`PathError::Stopped`] soon after another thread sets
/// `stop` (the browser runs a lookup beside its keyboard, and Esc sets it).
pub fn select_until(doc: &Document, query: &str, stop: &AtomicBool) -> Result<Vec<NodeId>, PathError> {
    // A plain path keeps the plain path's errors (which say what is there instead); one
    // that ends in a repeated field with no index stands for all its elements.
    if !has_selectors(query) {
        let path = FieldPath::parse(query)?;
        let id = crate::model::path::resolve_path_until(doc, &path, stop)?;
        let whole_field = path.segments().last().is_some_and(|s| s.indices.is_empty())
            && doc.field_info(id).is_some_and(|f| f.is_list)
            && doc.node(id).kind != NodeKind::Packed;
        let found = match (whole_field, doc.parent(id), path.segments().last()) {
            (true, Some(parent), Some(last)) => visible_parent(doc, parent, id)
                .map(|p| children_named(doc, p, &last.name).take_while(|_| !stop_asked(stop)).collect())
                .unwrap_or_else(|| vec![id]),
            _ => vec![id],
        };
        return if stop_asked(stop) { Err(PathError::Stopped) } else { Ok(found) };
    }
    let steps = parse(query)?;
    let mut current = vec![NodeId::ROOT];
    let mut scratch = String::new();
    for step in &steps {
        let mut next = Vec::new();
        for &parent in &current {
            select_children(doc, parent, step, stop, &mut scratch, &mut next);
        }
        if stop_asked(stop) {
            return Err(PathError::Stopped);
        }
        // A packed run's values are its element nodes.
        current = next
            .into_iter()
            .flat_map(|c| match (doc.node(c).kind, &step.selector) {
                (NodeKind::Packed, Selector::All) => doc.children(c).collect(),
                // An element knows its place in its run (not every value may have a node).
                (NodeKind::Packed, Selector::Index(i)) => {
                    let n = doc.node(c);
                    doc.children(c).filter(|&e| n.index + doc.node(e).index == *i).collect()
                }
                _ => vec![c],
            })
            .collect();
        if current.is_empty() {
            return Err(PathError::NotFound {
                path: query.to_owned(),
                segment: describe(step),
                parent: "the nodes selected before it".to_owned(),
                available: "no match".to_owned(),
            });
        }
    }
    Ok(current)
}

/// The node whose visible children `id` is among (an Any's, for a field of its payload).
fn visible_parent(doc: &Document, parent: NodeId, id: NodeId) -> Option<NodeId> {
    let up = if doc.is_transparent(parent) { doc.parent(parent)? } else { parent };
    visible_children(doc, up).any(|c| c == id).then_some(up)
}

/// The visible children of `parent` with this step name.
fn children_named<'d>(doc: &'d Document, parent: NodeId, name: &'d str) -> impl Iterator<Item = NodeId> + 'd {
    visible_children(doc, parent).filter(move |&c| step_is(doc, c, name))
}

/// Adds to `out` the visible children of `parent` that `step` names and whose selector they
/// pass, in order, until `stop` is set. The messages of a flat run, under a selector on
/// the value of a leaf, are read from their bytes one after the next.
fn select_children(
    doc: &Document,
    parent: NodeId,
    step: &Step,
    stop: &AtomicBool,
    scratch: &mut String,
    out: &mut Vec<NodeId>,
) {
    let mut children = VisibleChildren::of(doc, parent);
    while let Some(c) = children.next().filter(|_| !stop_asked(stop)) {
        let node = doc.node(c);
        if let (Selector::Key(field, value), Some(run_end)) = (&step.selector, doc.flat_run_end(c))
            && doc.flat_message_leaves(c, &node).is_some()
        {
            // The run's messages are values of one field; each of their leaves is of a
            // declared field, whose step is its name.
            if step_is(doc, c, &step.name) {
                out.extend(select_in_flat_run(doc, (c, &node), (field, value), stop));
            }
            children.skip_to(run_end);
            continue;
        }
        if step_is(doc, c, &step.name) && matches(doc, c, &node, &step.selector, scratch) {
            out.push(c);
        }
    }
}

/// The messages of the flat run from message `c` (`node` as read) on whose leaf `field`
/// reads as `value`, in order, until `stop` is set: each read from its bytes, one after
/// the next, a long run's halves on both cores.
fn select_in_flat_run(
    doc: &Document,
    (c, node): (NodeId, &Node),
    (field, value): (&str, &str),
    stop: &AtomicBool,
) -> Vec<NodeId> {
    /// Fewer messages than this are not worth a thread.
    const HALVED_FROM: u32 = 1 << 16;
    // An unsigned leaf reads as `value` when it is `value`'s number: compared as numbers,
    // not written out.
    let number = value.parse::<u64>().ok().filter(|n| itoa::Buffer::new().format(*n) == value);
    let select = |from: NodeId, until: Option<NodeId>| {
        let (mut found, mut scratch) = (Vec::new(), String::new());
        let Some(mut walk) = doc.flat_walk(from, &doc.node(from)) else { return found };
        let before_until = |message: &FlatMessage| until.is_none_or(|until| message.id() < until);
        while let Some(message) = walk.next().filter(|m| before_until(m) && !stop_asked(stop)) {
            let mut leaves = walk.leaves();
            if leaves.any(|leaf| {
                leaf.field.is_some_and(|f| f.name == field)
                    && match leaf.unsigned() {
                        Some(unsigned) => number == Some(unsigned),
                        None => match leaf.scalar() {
                            Some(scalar) => scalar_reads_as(&scalar, value, &mut scratch),
                            None => reads_as(doc, leaf.id, &leaf.node, leaf.field, value, &mut scratch),
                        },
                    }
            }) {
                found.push(message.id());
            }
        }
        found
    };
    let last = doc.flat_run_message(c, node, u32::MAX).map_or(node.index, |(_, last, _)| last);
    let halves = last.saturating_sub(node.index) >= HALVED_FROM;
    let middle = halves.then(|| doc.flat_run_message(c, node, node.index + (last - node.index) / 2)).flatten();
    let Some((middle, ..)) = middle else { return select(c, None) };
    std::thread::scope(|scope| {
        let later = scope.spawn(|| select(middle, None));
        let mut found = select(c, Some(middle));
        found.extend(later.join().expect("a selector never panics"));
        found
    })
}

/// Whether child `c` (`node` as read) passes a step's selector (`scratch` is room for a
/// value's text).
fn matches(doc: &Document, c: NodeId, node: &Node, selector: &Selector, scratch: &mut String) -> bool {
    match selector {
        Selector::None | Selector::All => true,
        Selector::Index(i) if node.kind == NodeKind::Packed => {
            (node.index..node.index + (node.next - c - 1)).contains(i)
        }
        Selector::Index(i) => node.index == *i,
        Selector::Key(field, value) => visible_children(doc, c).any(|k| {
            step_is(doc, k, field) && {
                let node = doc.node(k);
                reads_as(doc, k, &node, doc.field_info_of(&node), value, scratch)
            }
        }),
    }
}

/// Whether value `id` (`node` as read, of `field`) reads as `text` as a selector compares
/// it: a string as it is, a number as a decimal; written into `scratch`, not a string of
/// its own, as a selector may look at millions.
fn reads_as(
    doc: &Document,
    id: NodeId,
    node: &Node,
    field: Option<&FieldInfo>,
    text: &str,
    scratch: &mut String,
) -> bool {
    if node.kind == NodeKind::String {
        let bytes = doc.value_bytes_of(node);
        return std::str::from_utf8(bytes).map_or_else(|_| String::from_utf8_lossy(bytes) == text, |s| s == text);
    }
    match value::scalar_of(doc, node, field) {
        Some(value) => scalar_reads_as(&value, text, scratch),
        None => doc.preview(id) == text,
    }
}

/// Whether scalar `value` reads as `text` as a selector compares it ([`reads_as`]).
fn scalar_reads_as(value: &Scalar, text: &str, scratch: &mut String) -> bool {
    use std::fmt::Write as _;
    match *value {
        // Integers, most of what a selector compares, written without the formatting
        // machinery (as `Scalar`'s `Display` writes them).
        Scalar::Unsigned(v) => itoa::Buffer::new().format(v) == text,
        Scalar::Signed(v) => itoa::Buffer::new().format(v) == text,
        _ => {
            scratch.clear();
            let _ = write!(scratch, "{value}");
            scratch == text
        }
    }
}

fn describe(step: &Step) -> String {
    match &step.selector {
        Selector::None => step.name.clone(),
        Selector::Index(i) => format!("{}[{i}]", step.name),
        Selector::All => format!("{}[*]", step.name),
        Selector::Key(k, v) => format!("{}[{k}={v}]", step.name),
    }
}

/// Reads a query's steps. Values in `[field=value]` may hold dots and brackets' other
/// characters but not `]`.
fn parse(text: &str) -> Result<Vec<Step>, PathError> {
    let syntax = |reason: &str| PathError::Syntax { path: text.to_owned(), reason: reason.to_owned() };
    let mut steps = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let name_end = rest.find(['.', '[']).unwrap_or(rest.len());
        let name = &rest[..name_end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '#' | '@')) {
            return Err(syntax(&format!("`{name}` is not a field name")));
        }
        rest = &rest[name_end..];
        let mut selector = Selector::None;
        if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').ok_or_else(|| syntax("`[` without `]`"))?;
            let inside = &after[..close];
            selector = match inside.split_once('=') {
                _ if inside == "*" => Selector::All,
                Some((field, value)) => Selector::Key(field.trim().to_owned(), value.trim().to_owned()),
                None => Selector::Index(inside.parse().map_err(|_| syntax(&format!("`{inside}` is not an index")))?),
            };
            rest = &after[close + 1..];
        }
        steps.push(Step { name: name.to_owned(), selector });
        rest = match rest.strip_prefix('.') {
            Some(r) if !r.is_empty() => r,
            Some(_) => return Err(syntax("ends with `.`")),
            None if rest.is_empty() => rest,
            None => return Err(syntax(&format!("unexpected `{rest}`"))),
        };
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::decode::registry::SchemaSources;
    use crate::decode::schema::Schema;
    use crate::model::source::Source;
    use crate::model::{Decoder, value};

    #[test]
    fn a_query_finds_the_same_in_only_the_top_level_field_it_starts_in() {
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let decoder = Decoder::new(Arc::clone(&schema), schema.pool.get_message_by_name("sample.openvmm.SavedState"));
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/vm.state.bin")).unwrap();
        let whole = decoder.decode(Source::new(bytes.clone()));
        for query in [
            "units[3].state.cmos",
            "units[7].state.channel.drives[0].path.lun",
            "units[5]",
            "units[*].name",
            "units[name=pit].state.last",
            "units[2].state.redirection_entries[1]",
        ] {
            let focus = super::focus(query, decoder.root_type()).expect("the root type names it");
            let focused = decoder.clone().with_focus(focus).decode(Source::new(bytes.clone()));
            let read = |doc: &crate::model::Document| -> Vec<(String, String)> {
                let found = super::select(doc, query).unwrap_or_else(|e| panic!("{query}: {e}"));
                found.into_iter().map(|id| (doc.path_of(id).label(), value::preview(doc, id, 200))).collect()
            };
            assert_eq!(read(&focused), read(&whole), "{query}");
        }
        assert!(super::focus("@type", decoder.root_type()).is_none(), "a name the root lacks: decode all");
    }

    #[test]
    fn a_lookup_of_one_value_of_a_packed_run_checks_that_value_alone() {
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let decoder = Decoder::new(Arc::clone(&schema), schema.pool.get_message_by_name("sample.virt.x86.Apic"));
        // `registers` (packed uint32), every value out of range.
        let mut run = Vec::new();
        (0..1000).for_each(|_| crate::decode::wire::write_varint(&mut run, 1 << 40));
        let mut bytes = vec![0x12];
        crate::decode::wire::write_varint(&mut bytes, run.len() as u64);
        bytes.extend_from_slice(&run);
        let whole = decoder.decode(Source::new(bytes.clone()));
        let query = "registers[700]";
        let focused = decoder.clone().with_focus(super::focus(query, decoder.root_type()).unwrap());
        let focused = focused.decode(Source::new(bytes));
        let found = |doc: &crate::model::Document| {
            let id = super::select(doc, query).unwrap()[0];
            let problems: Vec<String> = doc.problems_of(id).iter().map(|p| p.kind.describe(doc)).collect();
            (value::preview(doc, id, 200), problems)
        };
        assert_eq!(found(&focused), found(&whole), "the value and its problem, as a whole decode has them");
        assert_eq!(whole.problems().len(), 1000);
        assert_eq!(focused.problems().len(), 1, "the other values are counted, not checked");
        // The first, the last, and one past the end: counted as a whole decode counts them.
        for query in ["registers[0]", "registers[999]", "registers[1000]"] {
            let focused = decoder.clone().with_focus(super::focus(query, decoder.root_type()).unwrap());
            let focused = focused.decode(Source::new(whole.bytes().to_vec()));
            let read = |doc: &crate::model::Document| {
                super::select(doc, query).map(|found| value::preview(doc, found[0], 200)).map_err(|e| e.to_string())
            };
            assert_eq!(read(&focused), read(&whole), "{query}");
        }
    }

    #[test]
    fn selectors_name_fields_by_name_by_number_and_an_anys_own_and_compare_values_as_text() {
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let decoder = Decoder::new(Arc::clone(&schema), schema.pool.get_message_by_name("sample.openvmm.SavedState"));
        let mut bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/vm.state.bin")).unwrap();
        // Two unknown top-level fields, number 99: a varint and a string.
        bytes.extend_from_slice(&[0x98, 0x06, 0x2a, 0x9a, 0x06, 0x02, b'h', b'i']);
        let doc = decoder.decode(Source::new(bytes));
        let units = doc.children(crate::model::NodeId::ROOT).count() - 2;
        let count = |query: &str| super::select(&doc, query).map(|found| found.len());
        assert_eq!(count("#99[*]"), Ok(2));
        assert!(count("#099[*]").is_err() && count("#9[*]").is_err(), "a number is read as written");
        assert_eq!(count("units[*].state.@type"), Ok(units), "each unit's Any has its type URL");
        assert_eq!(count("units[name=pit]"), Ok(1), "a string as it is");
        assert!(count("units[name=pi]").is_err());
        let vmtime = super::select(&doc, "units[*].state.vmtime").unwrap()[0];
        let value = doc.scalar(vmtime).unwrap().to_string();
        assert_eq!(count(&format!("units[*].state[vmtime={value}]")), Ok(1), "a number as a decimal");
    }

    #[test]
    fn a_lookup_asked_to_stop_gives_up_and_one_never_asked_finds_the_same_as_select() {
        use std::sync::atomic::AtomicBool;

        use crate::model::path::PathError;
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let decoder = Decoder::new(Arc::clone(&schema), schema.pool.get_message_by_name("sample.openvmm.SavedState"));
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/vm.state.bin")).unwrap();
        let doc = decoder.decode(Source::new(bytes));
        let last = doc.children(crate::model::NodeId::ROOT).count() - 1;
        for query in [format!("units[{last}].name"), "units".to_owned(), "units[name=none]".to_owned(), "nosuch".into()]
        {
            let stopped = super::select_until(&doc, &query, &AtomicBool::new(true));
            assert_eq!(stopped, Err(PathError::Stopped), "{query}");
            let whole = super::select_until(&doc, &query, &AtomicBool::new(false));
            assert_eq!(whole, super::select(&doc, &query), "{query}");
            assert_ne!(whole, Err(PathError::Stopped), "{query}");
        }
    }

    #[test]
    fn a_lookup_by_index_reads_nothing_past_its_occurrence() {
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let decoder = Decoder::new(Arc::clone(&schema), schema.pool.get_message_by_name("sample.openvmm.SavedState"));
        let mut bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/vm.state.bin")).unwrap();
        // A unit whose length runs past the end of the input: the last thing in the file.
        bytes.extend_from_slice(&[0x0a, 0x7f, 0x0a]);
        let whole = decoder.decode(Source::new(bytes.clone()));
        assert!(!whole.problems().is_empty(), "read whole, the cut unit is a problem");
        let focus = super::focus("units[3].name", decoder.root_type()).unwrap();
        let focused = decoder.clone().with_focus(focus).decode(Source::new(bytes.clone()));
        assert!(focused.problems().is_empty(), "{:?}", focused.problems());
        let read =
            |doc: &crate::model::Document| value::preview(doc, super::select(doc, "units[3].name").unwrap()[0], 50);
        assert_eq!(read(&focused), read(&whole));
        let every = super::focus("units[*].name", decoder.root_type()).unwrap();
        assert!(!decoder.with_focus(every).decode(Source::new(bytes)).problems().is_empty(), "[*] reads them all");
    }

    #[test]
    fn a_lookup_by_index_counts_a_run_of_small_messages_as_reading_them_all_does() {
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let decoder = Decoder::new(Arc::clone(&schema), schema.pool.get_message_by_name("sample.virt.x86.Msrs"));
        // Runs of entries (field 1) with one-byte lengths, broken by what the run's own loop
        // does not read: an entry of a two-byte length, an unknown field, an entry whose tag
        // takes two bytes, an empty entry and a field 1 of the wrong wire type.
        let entry = |value: u8| vec![0x0a, 0x04, 0x08, value, 0x10, value];
        let long_entry = [vec![0x0a, 0x82, 0x01, 0x08, 0x63, 0x3a, 0x7e], vec![0; 0x7e]].concat();
        let breaks =
            [long_entry, vec![0x38, 0x05], vec![0x8a, 0x00, 0x02, 0x08, 0x62], vec![0x0a, 0x00], vec![0x08, 0x01]];
        let mut bytes = Vec::new();
        for (k, odd) in breaks.iter().enumerate() {
            (0..3 + 5 * k as u8).for_each(|v| bytes.extend(entry(v)));
            bytes.extend_from_slice(odd);
        }
        let whole = decoder.decode(Source::new(bytes.clone()));
        let entries = super::select(&whole, "entries").unwrap().len();
        for i in 0..=entries {
            let query = format!("entries[{i}]");
            let focus = super::focus(&query, decoder.root_type()).unwrap();
            let focused = decoder.clone().with_focus(focus).decode(Source::new(bytes.clone()));
            let read = |doc: &crate::model::Document| {
                let found = super::select(doc, &query).ok()?;
                Some(
                    found
                        .into_iter()
                        .map(|id| (doc.path_of(id).label(), value::summary(doc, id, 80)))
                        .collect::<Vec<_>>(),
                )
            };
            assert_eq!(read(&focused), read(&whole), "{query}");
            assert_eq!(read(&whole).is_some(), i < entries, "{query}");
        }
    }

    #[test]
    fn one_value_of_a_top_level_packed_run_is_found_with_no_node_for_the_others() {
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let ioapic = schema.pool.get_message_by_name("sample.chipset.ioapic.SavedState");
        let decoder = Decoder::new(Arc::clone(&schema), ioapic);
        // redirection_entries (3) in two packed runs, [0..4) and [4..7), values 100+i.
        let run =
            |values: std::ops::Range<u8>| [vec![0x1a, values.len() as u8], values.map(|v| 100 + v).collect()].concat();
        let bytes = [run(0..4), run(4..7)].concat();
        let whole = decoder.decode(Source::new(bytes.clone()));
        for i in 0..7 {
            let query = format!("redirection_entries[{i}]");
            let focus = super::focus(&query, decoder.root_type()).unwrap();
            let focused = decoder.clone().with_focus(focus).decode(Source::new(bytes.clone()));
            assert_eq!(focused.node_count(), 4, "the root, two runs, one value");
            let read = |doc: &crate::model::Document| {
                let id = super::select(doc, &query).unwrap()[0];
                (doc.path_of(id).label(), value::preview(doc, id, 50))
            };
            assert_eq!(read(&focused), read(&whole), "{query}");
        }
    }
}
