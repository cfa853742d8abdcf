//! Which nodes are rows of the tree pane, and moving between them, computed on demand from
//! the pre-order arena and the set of expanded nodes: nothing is built per frame beyond
//! the rows actually drawn, so the cost of a frame does not grow with the document.

use crate::model::Document;
use crate::model::node::NodeId;
use crate::ui::folds::Folds;

/// Navigation over the rows of a document under given folds.
#[derive(Clone, Copy)]
pub struct Rows<'a> {
    /// The document.
    pub doc: &'a Document,
    /// The expanded rows.
    pub folds: &'a Folds,
}

impl Rows<'_> {
    /// Whether a node has children to show.
    pub fn has_children(&self, id: NodeId) -> bool {
        self.doc.node(id).next > id + 1
    }

    /// Whether the node's children are shown (transparent nodes always pass through).
    fn opens(&self, id: NodeId) -> bool {
        self.doc.is_transparent(id) || self.folds.is_open(id, || self.depth(id))
    }

    /// Whether row `id` is expanded (its children, if it has any, are rows).
    pub fn is_expanded(&self, id: NodeId) -> bool {
        self.opens(id)
    }

    /// The row after `id`, if any.
    pub fn next(&self, id: NodeId) -> Option<NodeId> {
        let end = self.doc.end();
        let mut n = if self.opens(id) { id + 1 } else { self.doc.node(id).next };
        while n < end && self.doc.is_transparent(n) {
            n = n + 1;
        }
        (n < end).then_some(n)
    }

    /// The row before `id`, if any.
    pub fn prev(&self, id: NodeId) -> Option<NodeId> {
        let mut x = before(id)?;
        loop {
            x = self.outermost_hidden_ancestor(x).unwrap_or(x);
            if !self.doc.is_transparent(x) {
                return Some(x);
            }
            x = before(x)?;
        }
    }

    /// The outermost collapsed ancestor hiding `id`, if one does.
    fn outermost_hidden_ancestor(&self, id: NodeId) -> Option<NodeId> {
        let mut hidden = None;
        // Each ancestor that is a row is one row shallower than the one below it.
        let mut depth = self.depth(id);
        let mut p = self.doc.parent(id);
        while let Some(ancestor) = p {
            if !self.doc.is_transparent(ancestor) {
                depth = depth.saturating_sub(1);
                if !self.folds.is_open(ancestor, || depth) {
                    hidden = Some(ancestor);
                }
            }
            p = self.doc.parent(ancestor);
        }
        hidden
    }

    /// The nearest ancestor that is a row (transparent ones are skipped).
    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        let mut p = self.doc.parent(id);
        while let Some(ancestor) = p.filter(|&a| self.doc.is_transparent(a)) {
            p = self.doc.parent(ancestor);
        }
        p
    }

    /// Indentation level: rows between the root and this one.
    pub fn depth(&self, id: NodeId) -> usize {
        let mut depth = 0;
        let mut p = self.parent(id);
        while let Some(x) = p {
            depth += 1;
            p = self.parent(x);
        }
        depth
    }

    /// The last row of the document.
    pub fn last(&self) -> NodeId {
        let mut x = before(self.doc.end()).unwrap_or(NodeId::ROOT);
        loop {
            x = self.outermost_hidden_ancestor(x).unwrap_or(x);
            match before(x).filter(|_| self.doc.is_transparent(x)) {
                Some(earlier) => x = earlier,
                None => return x,
            }
        }
    }

    /// Makes `id` a row by expanding every ancestor.
    pub fn reveal(doc: &Document, folds: &mut Folds, id: NodeId) {
        let mut p = doc.parent(id);
        while let Some(ancestor) = p {
            folds.set(ancestor, true);
            p = doc.parent(ancestor);
        }
    }

    /// The next row that is a sibling of `id` (same row parent), if any.
    pub fn next_sibling(&self, id: NodeId) -> Option<NodeId> {
        let parent = self.parent(id);
        let mut x = self.doc.node(id).next;
        while x < self.doc.end() {
            if self.doc.is_transparent(x) {
                x = x + 1;
                continue;
            }
            return (self.parent(x) == parent).then_some(x);
        }
        None
    }

    /// The previous row that is a sibling of `id`, if any.
    pub fn prev_sibling(&self, id: NodeId) -> Option<NodeId> {
        let parent = self.parent(id)?;
        let mut candidate = None;
        let mut x = self.first_child(parent)?;
        while x != id {
            candidate = Some(x);
            x = self.next_sibling(x)?;
        }
        candidate
    }

    /// The first child row of `id`, whether or not `id` is expanded.
    pub fn first_child(&self, id: NodeId) -> Option<NodeId> {
        let mut x = id + 1;
        while x < self.doc.node(id).next {
            if !self.doc.is_transparent(x) {
                return Some(x);
            }
            x = x + 1;
        }
        None
    }
}

/// The id just before `id` in pre-order; `None` for the root.
fn before(id: NodeId) -> Option<NodeId> {
    id.index().checked_sub(1).map(NodeId::from_index)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::decode::registry::SchemaSources;
    use crate::decode::schema::Schema;
    use crate::model::Decoder;
    use crate::model::source::Source;

    /// The built-in sample, decoded whole.
    pub(crate) fn sample() -> Document {
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let root = schema.pool.get_message_by_name(crate::samples::ROOT_TYPE);
        Decoder::new(schema, root).decode(Source::new(crate::samples::VM_STATE.to_vec()))
    }

    fn path(doc: &Document, id: NodeId) -> String {
        doc.path_of(id).to_string()
    }

    #[test]
    fn collapsed_rows_are_skipped_and_next_and_prev_are_inverse() {
        let doc = sample();
        let mut folds = Folds::new(doc.node_count());
        let rows = Rows { doc: &doc, folds: &folds };
        let units: Vec<String> =
            std::iter::successors(Some(NodeId::ROOT), |&id| rows.next(id)).map(|id| path(&doc, id)).collect();
        assert_eq!(units.len(), 9, "the root and its eight units: {units:?}");
        assert_eq!(path(&doc, rows.last()), "units[7]");
        // Open the PIT unit: its fields become rows, and prev walks back over them.
        let pit = doc.resolve("units[1]").unwrap();
        folds.set(pit, true);
        let rows = Rows { doc: &doc, folds: &folds };
        let mut id = NodeId::ROOT;
        while let Some(next) = rows.next(id) {
            assert_eq!(rows.prev(next), Some(id), "prev undoes next at {}", path(&doc, next));
            id = next;
        }
        assert_eq!(path(&doc, rows.first_child(pit).unwrap()), "units[1].name");
        assert_eq!(rows.next_sibling(pit).map(|s| path(&doc, s)).as_deref(), Some("units[2]"));
        assert_eq!(rows.prev_sibling(pit).map(|s| path(&doc, s)).as_deref(), Some("units[0]"));
    }

    #[test]
    fn any_payloads_are_passed_through() {
        let doc = sample();
        let lun = doc.resolve("units[7].state.channel.drives[0].path.lun").unwrap();
        let mut folds = Folds::new(doc.node_count());
        Rows::reveal(&doc, &mut folds, lun);
        let rows = Rows { doc: &doc, folds: &folds };
        let chain: Vec<String> =
            std::iter::successors(Some(lun), |&id| rows.parent(id)).map(|id| path(&doc, id)).collect();
        assert_eq!(
            chain,
            [
                "units[7].state.channel.drives[0].path.lun",
                "units[7].state.channel.drives[0].path",
                "units[7].state.channel.drives[0]",
                "units[7].state.channel",
                "units[7].state",
                "units[7]",
                ""
            ]
        );
        assert_eq!(rows.depth(lun), 6);
        assert!(chain.iter().all(|p| !p.ends_with("@value")), "payloads have no rows of their own");
    }
}
