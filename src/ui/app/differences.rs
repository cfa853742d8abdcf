//! Differences from another blob, shown on the browser's rows (`diff A B --view`): a note
//! on each node of B that differs, and the rows above them marked when folded.

use crate::model::{Document, NodeId};
use crate::ui::node_set::NodeSet;

/// The notes, by node, and the nodes with a note somewhere below them.
#[derive(Debug, Default)]
pub struct Differences {
    notes: Vec<(NodeId, String)>,
    ancestors: NodeSet,
}

impl Differences {
    /// Notes on `doc`'s nodes, in any order.
    pub fn new(doc: &Document, mut notes: Vec<(NodeId, String)>) -> Self {
        notes.sort_by_key(|(id, _)| *id);
        let mut ancestors = NodeSet::new(doc.node_count());
        for &(id, _) in &notes {
            let mut p = doc.parent(id);
            while let Some(ancestor) = p.filter(|&a| !ancestors.contains(a)) {
                ancestors.set(ancestor, true);
                p = doc.parent(ancestor);
            }
        }
        Differences { notes, ancestors }
    }

    /// How many notes.
    pub fn len(&self) -> usize {
        self.notes.len()
    }

    /// The notes on one node.
    pub fn of(&self, id: NodeId) -> impl Iterator<Item = &str> {
        let from = self.notes.partition_point(|(n, _)| *n < id);
        self.notes[from..].iter().take_while(move |(n, _)| *n == id).map(|(_, text)| text.as_str())
    }

    /// Whether a note lies somewhere below `id`.
    pub fn below(&self, id: NodeId) -> bool {
        !self.notes.is_empty() && self.ancestors.contains(id)
    }

    /// The next (or previous) noted node after `from`, wrapping around.
    pub fn next(&self, from: NodeId, forward: bool) -> Option<&(NodeId, String)> {
        if forward {
            self.notes.iter().find(|(n, _)| *n > from).or(self.notes.first())
        } else {
            self.notes.iter().rev().find(|(n, _)| *n < from).or(self.notes.last())
        }
    }
}
