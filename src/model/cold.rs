//! Cold messages: clean messages whose subtrees a browsed document does not store.
//! The synthetic VM's gigabyte stored seven ids in ten as nodes of 32 bytes (the leaves
//! of its registers and the messages holding them), six times the file. A clean message
//! of numbers all the way down (a VP's state), and past a budget of memory any clean
//! top-level unit, now stores its own node alone; the nodes under it are made by decoding
//! its bytes alone, as an edit inside it does, when one of them is read. The messages
//! read last on a thread are kept decoded, so a walk through one decodes it once.

use std::cell::RefCell;

use crate::model::builder::Builder;
use crate::model::document::Document;
use crate::model::node::{Node, NodeId};
use crate::model::overlay::{self, Part, TopState};
use crate::model::record::NodeRecord;

/// At least how many nodes a clean message holds under it for it to be left cold: a cold
/// run costs a record of its own.
pub(super) const FEWEST_NODES: usize = 16;

/// At most how many bytes a message left cold takes: a read of one of its nodes, when
/// it is not kept, decodes it whole (about 10 ms a MiB).
pub(super) const MOST_BYTES: u64 = 1 << 20;

/// How many bytes of stored nodes a whole decode of `input` bytes keeps before it leaves
/// clean top-level messages cold: seven eighths of the input or 256 MiB, whichever is
/// more. Below it their nodes are read from memory (a search through a cold unit decodes
/// it again, several times the time of reading its nodes); past it, memory stays within
/// twice the file's size.
pub(super) fn hot_bytes(input: u64) -> u64 {
    (input / 8 * 7).max(256 << 20)
}

/// How many cold messages a thread keeps decoded: a screen of rows or a search's walk
/// reads one or two at a time.
const KEPT: usize = 4;

/// A cold message decoded alone: which document's message it is, and its nodes under
/// it, in id order.
struct Decoded {
    key: Key,
    nodes: Vec<NodeRecord>,
}

/// What tells a message decoded from another: the generation of its document's runs (a
/// generation no other runs have had: every edit makes a new one) and its id.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    generation: u64,
    message: NodeId,
}

thread_local! {
    /// The messages decoded last on this thread, the last read first.
    static DECODED: RefCell<Vec<Decoded>> = const { RefCell::new(Vec::new()) };
}

/// The node `position` places after the cold message `message` of `doc` (generation
/// `generation` of its runs), in its subtree.
pub(super) fn node(doc: &Document, generation: u64, message: NodeId, position: u32) -> Node {
    let key = Key { generation, message };
    let kept = DECODED.with_borrow_mut(|kept| {
        let at = kept.iter().position(|d| d.key == key)?;
        if at > 0 {
            kept[..=at].rotate_right(1);
        }
        Some(kept[0].nodes.get(position as usize).copied())
    });
    let read = kept.unwrap_or_else(|| {
        let nodes = decoded_alone(doc, message, &doc.node(message));
        let read = nodes.get(position as usize).copied();
        DECODED.with_borrow_mut(|kept| {
            kept.truncate(KEPT - 1);
            kept.insert(0, Decoded { key, nodes });
        });
        read
    });
    match read {
        Some(record) => record.unpack(),
        None => unreadable(message, &doc.node(message), position),
    }
}

/// The nodes under message `message` (`node` as read) of `doc`, decoded alone from its
/// bytes as the root of its type, with the document's types and fixed-array lengths,
/// every node stored, in id order.
fn decoded_alone(doc: &Document, message: NodeId, node: &Node) -> Vec<NodeRecord> {
    let Some(ty) = node.ty else { return Vec::new() };
    let decoder = doc.decoder().rooted_at(doc.type_info_at(ty).desc.clone());
    let mut builder = Builder::with_types(doc.source().clone(), decoder, doc.types.clone());
    let before = TopState { array_lengths: doc.array_lengths.clone(), ..TopState::default() };
    let part = Part {
        range: node.value_start() as usize..node.value_end as usize,
        before,
        partial: true,
        watch: None,
        units: 0,
    };
    if overlay::build_part(&mut builder, None, true, Some(part)).is_err() {
        return Vec::new();
    }
    let mut built = builder.finish();
    debug_assert!(built.problems.is_empty(), "a message left cold decoded clean: {:?}", built.problems);
    // Each id `j` of the decode alone (the root 0) is `message + j` here.
    let placed = |id: NodeId| message + id.index() as u32;
    let mut nodes = std::mem::take(&mut built.nodes);
    nodes.drop_first(1);
    for record in nodes.iter_mut() {
        let node = record.unpack();
        *record = NodeRecord::pack(Node { parent: node.parent.map(placed), next: placed(node.next), ..node });
    }
    nodes.into_vec()
}

/// What stands for a node of a cold message its decode alone did not give (none should
/// lack one: the message read clean): an empty error span at the message's start.
fn unreadable(message: NodeId, top: &Node, position: u32) -> Node {
    if cfg!(debug_assertions) {
        panic!("the decode of cold message {message} alone has no node {position}");
    }
    crate::model::elided::flat::unreadable(message + (position + 1), top.start as usize, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elided::Place;
    use crate::model::elided::tests::{decoded, same_nodes};
    use crate::model::node::NodeKind;
    use crate::model::redecode::tests::{assert_reads_as, decoder, replaced};
    use crate::model::source::Source;

    /// A PCI unit, then eight partition units of sixteen VPs each (a few hundred nodes a
    /// unit) between units of the sample's size, encoded by prost-reflect from text.
    fn vm() -> Vec<u8> {
        let vp = |i: u32| {
            format!(
                "vps {{ vp_index: {i} data {{ [type.googleapis.com/sample.virt.x86.VpSavedState] {{ registers {{ \
                 rax: {i} rcx: 1 rdx: 2 rbx: 3 rsp: 4 rbp: 5 rsi: 6 rdi: 7 rip: {} rflags: 2 cs {{ base: 0 limit: 65535 selector: 16 attributes: 41115 }} ds {{ limit: 7 }} }} \
                 apic {{ apic_base: 4276094208 registers: 1 registers: {i} }} }} }} }}",
                0xffff_0000u64 + u64::from(i)
            )
        };
        let vps: String = (0..16).map(vp).collect();
        // First a PCI device with a packed run of 40 varints (its values found from
        // offsets kept), whose type has an Any: never left cold by default.
        let bars: String = (0..40).map(|i| format!("base_addresses: {} ", 0xfe00_0000u32 + (i << 12))).collect();
        let mut text = format!(
            "units {{ name: \"pci\" state {{ [type.googleapis.com/sample.pci.cfg_space_emu.SavedState] {{ {bars} }} }} }}\n"
        );
        for u in 0..8 {
            text += &format!(
                "units {{ name: \"vmtime-{u}\" state {{ [type.googleapis.com/sample.vmtime.SavedState] {{ vmtime: {u} }} }} }}\n"
            );
            text += &format!(
                "units {{ name: \"partition-{u}\" state {{ [type.googleapis.com/sample.partition.Partition] {{ {vps} }} }} }}\n"
            );
        }
        let decoder = decoder();
        let root = decoder.root_type().expect("the sample's root").clone();
        let message = prost_reflect::DynamicMessage::parse_text_format(root, &text).expect("the text parses");
        prost::Message::encode_to_vec(&message)
    }

    /// The sample's decoder, leaving every clean unit worth it cold.
    fn cold_decoder() -> crate::model::Decoder {
        decoder().keeping_nodes_up_to(0)
    }

    /// The messages of `doc` left cold, in id order.
    fn cold_messages(doc: &Document) -> Vec<NodeId> {
        let mut messages: Vec<NodeId> = NodeId::ROOT
            .up_to(doc.end())
            .filter_map(|id| match doc.elided.locate(id) {
                Place::Cold { run, .. } => Some(doc.elided.run_node(run)),
                _ => None,
            })
            .collect();
        messages.dedup();
        messages
    }

    /// The top-level messages of `doc` left cold.
    fn cold_units(doc: &Document) -> Vec<NodeId> {
        cold_messages(doc).into_iter().filter(|&id| doc.parent(id) == Some(NodeId::ROOT)).collect()
    }

    #[test]
    fn a_document_leaving_units_cold_reads_as_one_storing_every_node() {
        let (decoder, bytes) = (cold_decoder(), vm());
        let (lean, full) = (decoded(&decoder, &bytes, true), decoded(&decoder, &bytes, false));
        let cold = cold_units(&lean);
        assert!(cold.len() >= 4, "the partition units are left cold: {cold:?}");
        let (stored, all) = same_nodes(&lean, &full);
        assert!(stored * 10 < all, "{stored} of {all} nodes stored");
        same_nodes_out_of_order(&lean, &full);
    }

    #[test]
    fn every_path_names_its_node_in_a_document_leaving_units_cold_and_in_one_storing_all() {
        let (decoder, bytes) = (cold_decoder(), vm());
        for doc in [decoded(&decoder, &bytes, true), decoded(&decoder, &bytes, false)] {
            // Units, VPs and registers by index among many of their field, found by halving.
            let ids = NodeId::ROOT.up_to(doc.end()).step_by(7).filter(|&id| !doc.is_transparent(id));
            for id in ids {
                assert_eq!(doc.resolve(&doc.path_of(id).to_string()), Ok(id), "{}", doc.path_of(id));
            }
        }
    }

    /// Checks that `lean` reads as `full` read out of order, a unit at a time and then
    /// across units, more than a thread keeps: each read decodes its unit again or finds
    /// it kept, and a packed value is found from the offsets kept, not the value read last.
    fn same_nodes_out_of_order(lean: &Document, full: &Document) {
        let ids: Vec<NodeId> = NodeId::ROOT.up_to(full.end()).collect();
        for id in ids.iter().rev().chain(ids.iter().step_by(97)).chain(ids.iter().step_by(1009).rev()) {
            assert_eq!(lean.node(*id), full.node(*id), "node {id}");
        }
    }

    #[test]
    fn a_top_level_message_of_numbers_is_left_cold_once() {
        // A VP's state as the root: its registers, a top-level field of numbers all the
        // way down, are left cold as their frame ends, and not again as a top-level field.
        let decoder = decoder().keeping_nodes_up_to(0);
        let ty = decoder.schema().pool.get_message_by_name("sample.virt.x86.VpSavedState").unwrap();
        let decoder = decoder.rooted_at(ty.clone());
        let text = "registers { rax: 1 rcx: 2 rdx: 3 rbx: 4 rsp: 5 rbp: 6 rsi: 7 rdi: 8 rip: 9 rflags: 2 \
                    cs { base: 0 limit: 65535 selector: 16 attributes: 41115 } ds { limit: 7 } }";
        let message = prost_reflect::DynamicMessage::parse_text_format(ty, text).expect("the text parses");
        let bytes = prost::Message::encode_to_vec(&message);
        let (lean, full) = (decoded(&decoder, &bytes, true), decoded(&decoder, &bytes, false));
        assert_eq!(cold_messages(&lean), [lean.resolve("registers").unwrap()]);
        same_nodes(&lean, &full);
        same_nodes_out_of_order(&lean, &full);
    }

    #[test]
    fn a_unit_with_a_problem_stays_stored_and_by_default_only_messages_of_numbers_are_cold() {
        let (cold, mut bytes) = (cold_decoder(), vm());
        let clean = decoded(&cold, &bytes, true);
        let units = cold_units(&clean);
        // A byte of the first cold unit's name made invalid UTF-8: a problem in it.
        let name = clean.node(clean.resolve(&format!("{}.name", clean.path_of(units[0]))).unwrap());
        bytes[name.value_start() as usize] = 0xff;
        let damaged = decoded(&cold, &bytes, true);
        assert!(!damaged.problems().is_empty());
        assert_eq!(cold_units(&damaged)[..], units[1..], "the damaged unit is stored");
        same_nodes(&damaged, &decoded(&cold, &bytes, false));
        // By default, nodes of a few MB are kept: only each VP's state, of numbers all the
        // way down, is left cold, the damaged unit's too.
        let default = decoded(&decoder(), &bytes, true);
        let messages = cold_messages(&default);
        let names: Vec<&str> = messages.iter().map(|&id| default.type_info_of(id).unwrap().name.as_ref()).collect();
        assert_eq!(names, ["sample.virt.x86.VpSavedState"; 8 * 16]);
        same_nodes(&default, &decoded(&decoder(), &bytes, false));
    }

    #[test]
    fn the_sample_and_its_broken_copies_read_with_their_units_cold_as_storing_every_node() {
        let cold = cold_decoder();
        let broken = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/broken");
        let mut blobs = vec![crate::model::redecode::tests::SAMPLE.to_vec()];
        for entry in std::fs::read_dir(broken).unwrap() {
            blobs.push(std::fs::read(entry.unwrap().path()).unwrap());
        }
        // Left cold by the default decoder too: there only the messages of numbers are,
        // among packed runs and flat runs stored or taken back.
        for (decoder, bytes) in [cold.clone(), decoder()].iter().flat_map(|d| blobs.iter().map(move |b| (d, b))) {
            let (lean, full) = (decoded(decoder, bytes, true), decoded(decoder, bytes, false));
            same_nodes(&lean, &full);
            same_nodes_out_of_order(&lean, &full);
        }
        let sample = decoded(&cold, &blobs[0], true);
        assert!(cold_units(&sample).len() >= 4, "the sample's units of 16 nodes or more are cold");
    }

    /// Reads every node of `doc`: the units it leaves kept on this thread are then those
    /// an edit's document must not take for its own.
    fn read_all(doc: &Document) {
        let kinds = NodeId::ROOT.up_to(doc.end()).filter(|&id| doc.node(id).kind == NodeKind::Message).count();
        assert!(kinds > 0);
    }

    /// The bytes of `doc` with the value of scalar `id` replaced by `value` (a varint), and
    /// each length prefix around it changed to match, as long as it was.
    fn with_value(doc: &Document, id: NodeId, value: u64) -> (std::ops::Range<usize>, Vec<u8>) {
        let node = doc.node(id);
        let mut put = Vec::new();
        crate::decode::wire::write_varint(&mut put, value);
        let delta = put.len() as i64 - (node.value_end - node.value_start()) as i64;
        let mut bytes = doc.bytes().to_vec();
        bytes.splice(node.value_start() as usize..node.value_end as usize, put);
        let mut at = doc.parent(id);
        while let Some(parent) = at.filter(|&p| p != NodeId::ROOT) {
            let node = doc.node(parent);
            let span = node.len_prefix();
            let mut prefix = Vec::new();
            crate::decode::wire::write_varint(
                &mut prefix,
                (node.value_end - node.value_start()).wrapping_add_signed(delta),
            );
            assert_eq!(prefix.len() as u64, span.end - span.start, "a prefix as long as it was");
            bytes[span.start as usize..span.end as usize].copy_from_slice(&prefix);
            at = doc.parent(parent);
        }
        // From the unit's own length prefix to the value: inside the unit.
        let unit = doc.path_of(id).to_string();
        let top = doc.node(doc.resolve(&unit[..unit.find(".state").unwrap()]).unwrap());
        let from = top.len_prefix().start as usize;
        let end = (node.value_end as i64 + delta) as usize;
        (from..node.value_end as usize, bytes[from..end].to_vec())
    }

    #[test]
    fn an_edit_inside_a_cold_unit_or_of_a_whole_one_reads_as_the_whole_decoded_again() {
        let decoder = cold_decoder();
        let doc = decoder.decode(Source::new(vm()));
        let units = cold_units(&doc);
        let unit = units[1];
        let rip = doc.resolve(&format!("{}.state.vps[3].data.registers.rip", doc.path_of(unit))).expect("a VP's rip");
        read_all(&doc);
        // A byte longer: the unit is decoded alone, and left cold again.
        let (span, put) = with_value(&doc, rip, 1 << 36 | 3);
        let (carried, whole) = replaced(doc, span, &put);
        let carried = carried.expect("carried over");
        assert_reads_as(&carried, &whole);
        assert_eq!(cold_units(&carried), units, "the unit edited is left cold again");
        // A whole cold unit taken out: the units after it move.
        read_all(&carried);
        let span = carried.node(unit).start as usize..carried.node(unit).end() as usize;
        let (taken, whole) = replaced(carried, span, &[]);
        let taken = taken.expect("carried over");
        assert_reads_as(&taken, &whole);
        assert_eq!(cold_units(&taken).len(), units.len() - 1);
    }
}
