//! Shrinking a blob while a predicate holds (`statescope reduce`): whole fields deleted
//! top-down (a unit, then what is inside the ones that must stay), then values made small
//! (numbers to zero, bytes and strings halved), pass after pass until nothing more goes.
//! Every candidate is a splice of the current bytes planned by the editor, so the length
//! prefixes around it stay consistent, and damage elsewhere in the blob survives as it is.
//! Candidates are tried two at a time (one per core) in a fixed order, and a result is only
//! taken in that order, so the same run always gives the same bytes.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::Instant;

use crate::edit::Editor;
use crate::edit::op::EditOp;
use crate::model::source::Source;
use crate::model::{Decoder, Document, NodeId, NodeKind};

/// What a reduction ends with.
#[derive(Debug, Clone)]
pub struct Reduction {
    /// The smallest blob found that the predicate holds for.
    pub bytes: Vec<u8>,
    /// The edits from the original to it, in order (replayable with `patch`).
    pub script: Vec<String>,
    /// How many times the predicate ran (cached results not counted).
    pub tests: usize,
    /// Whether the deadline stopped it before it was done.
    pub timed_out: bool,
}

/// Passes over the blob at most: each that removes something is followed by another.
const PASSES: usize = 8;

/// Shrinks `original` (decoded with `decoder`) while `interesting` holds, until no
/// candidate is left or `deadline` passes. `progress` hears the current size and the tests
/// run so far. `interesting` must hold for `original`.
pub fn reduce(
    decoder: &Decoder,
    original: Vec<u8>,
    interesting: &(dyn Fn(&[u8]) -> bool + Sync),
    deadline: Option<Instant>,
    progress: &mut dyn FnMut(usize, usize),
) -> Reduction {
    let mut run = Run { decoder, interesting, deadline, cache: HashMap::new(), tests: 0, script: Vec::new() };
    let mut current = original;
    for _ in 0..PASSES {
        let mut changed = false;
        for pass in [Pass::Delete, Pass::Shrink] {
            let (bytes, any) = run.pass(current, pass, progress);
            current = bytes;
            changed |= any;
        }
        if !changed || run.out_of_time() {
            break;
        }
    }
    Reduction { timed_out: run.out_of_time(), bytes: current, script: run.script, tests: run.tests }
}

/// What a pass tries on each node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Delete the field (or element).
    Delete,
    /// Make its value small.
    Shrink,
}

struct Run<'a> {
    decoder: &'a Decoder,
    interesting: &'a (dyn Fn(&[u8]) -> bool + Sync),
    deadline: Option<Instant>,
    cache: HashMap<u64, bool>,
    tests: usize,
    script: Vec<String>,
}

impl Run<'_> {
    fn out_of_time(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// One pass in byte order: at each place the next two candidates are tried (in
    /// parallel); the first that stays interesting is taken, and the pass goes on from the
    /// same place. Returns the bytes and whether anything was taken.
    fn pass(&mut self, mut bytes: Vec<u8>, pass: Pass, progress: &mut dyn FnMut(usize, usize)) -> (Vec<u8>, bool) {
        let mut cursor = 0u64;
        let mut any = false;
        let mut doc = self.decoder.decode(Source::new(bytes.clone()));
        while !self.out_of_time() {
            let candidates: Vec<(u64, EditOp, Vec<u8>)> = candidates(&doc, cursor, pass)
                .filter_map(|(at, op)| {
                    let mut editor = Editor::new(self.decoder.decode(Source::new(bytes.clone())));
                    editor.apply(op.clone()).ok()?;
                    Some((at, op, editor.doc().bytes().to_vec()))
                })
                .filter(|(_, _, b)| b.len() <= bytes.len() && *b != bytes)
                .take(2)
                .collect();
            if candidates.is_empty() {
                break;
            }
            let verdicts = self.test(candidates.iter().map(|(_, _, b)| b.as_slice()).collect());
            match verdicts.iter().position(|&v| v) {
                Some(i) => {
                    let (at, op, new) = candidates.into_iter().nth(i).expect("found");
                    self.script.push(op.to_string());
                    bytes = new;
                    doc = self.decoder.decode(Source::new(bytes.clone()));
                    cursor = at;
                    any = true;
                    progress(bytes.len(), self.tests);
                }
                None => cursor = candidates.last().expect("not empty").0 + 1,
            }
        }
        (bytes, any)
    }

    /// Whether each blob is interesting, from the cache or by running the predicate, the
    /// uncached ones at the same time.
    fn test(&mut self, blobs: Vec<&[u8]>) -> Vec<bool> {
        let keys: Vec<u64> = blobs.iter().map(|b| content_hash(b)).collect();
        let interesting = self.interesting;
        let fresh: Vec<(usize, bool)> = std::thread::scope(|scope| {
            let handles: Vec<_> = blobs
                .iter()
                .enumerate()
                .filter(|(i, _)| !self.cache.contains_key(&keys[*i]))
                .map(|(i, blob)| (i, scope.spawn(move || interesting(blob))))
                .collect();
            handles.into_iter().map(|(i, h)| (i, h.join().unwrap_or(false))).collect()
        });
        self.tests += fresh.len();
        for (i, verdict) in fresh {
            self.cache.insert(keys[i], verdict);
        }
        keys.iter().map(|k| self.cache[k]).collect()
    }
}

/// The edits a pass tries, in byte order from `cursor`: deletions of every field but the
/// root, Any payloads and type URLs (the type stays); or values made small.
fn candidates(doc: &Document, cursor: u64, pass: Pass) -> impl Iterator<Item = (u64, EditOp)> + '_ {
    NodeId::ROOT.up_to(doc.end()).filter_map(move |id| {
        let node = doc.node(id);
        if node.start < cursor || matches!(node.kind, NodeKind::Root | NodeKind::AnyPayload | NodeKind::Error) {
            return None;
        }
        let is_type_url = doc.parent(id).is_some_and(|p| doc.is_any(p)) && node.field_number == 1;
        if is_type_url {
            return None;
        }
        let path = doc.path_of(id);
        let op = match pass {
            Pass::Delete => EditOp::Delete { path },
            Pass::Shrink => match node.kind {
                NodeKind::Scalar | NodeKind::Element if doc.scalar(id).is_some_and(|v| v.to_string() != "0") => {
                    EditOp::Set { path, value: "0".to_owned() }
                }
                NodeKind::String | NodeKind::Bytes if node.value_end - node.value_start() >= 2 => {
                    let value = doc.value_bytes(id);
                    EditOp::SetRaw { path, bytes: value[..value.len() / 2].to_vec() }
                }
                _ => return None,
            },
        };
        Some((node.start, op))
    })
}

/// A hash of a candidate's bytes, for the cache (the same for every run: no random seed).
fn content_hash(bytes: &[u8]) -> u64 {
    std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(bytes)
}
