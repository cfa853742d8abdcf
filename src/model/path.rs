//! Stable field paths such as `units[3].state.drives[0].path.lun`: naming a node, and
//! finding the node a path names. Any payloads are passed through as if expanded; an Any's
//! own fields are `@type` and (when unresolved) `@value`; unknown fields are `#N`, and those
//! of an Any itself `@#N` (its payload's fields share its step).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::decode::schema::{FieldClass, FieldInfo};
use crate::model::document::Document;
use crate::model::node::{Node, NodeId, NodeKind};

mod top_level;
pub use top_level::absent_at_top_level;

/// A path that names no node, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The text is not a path.
    #[error("`{path}` is not a path: {reason} (paths look like `units[2].state.lun`)")]
    Syntax {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A segment names nothing at that point.
    #[error("`{path}`: no `{segment}` under `{parent}`; there: {available}")]
    NotFound {
        /// The path as given.
        path: String,
        /// The segment that failed.
        segment: String,
        /// The path resolved so far.
        parent: String,
        /// What does exist there.
        available: String,
    },
    /// The lookup was stopped (the browser's Esc) before it found an answer.
    #[error("the lookup was stopped")]
    Stopped,
}

/// A stop flag no one sets: for lookups that run to the end.
pub static NEVER_STOPPED: AtomicBool = AtomicBool::new(false);

/// Whether another thread asked a lookup to stop (checked between siblings).
pub fn stop_asked(stop: &AtomicBool) -> bool {
    stop.load(Ordering::Relaxed)
}

/// One `name[i]` step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Field name, `#N`, `@type`, `@value` or `@#N`.
    pub name: String,
    /// Bracketed indices after the name.
    pub indices: Vec<u32>,
}

impl Segment {
    /// A step with no index.
    pub fn named(name: impl Into<String>) -> Segment {
        Segment { name: name.into(), indices: Vec::new() }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        self.indices.iter().try_for_each(|i| write!(f, "[{i}]"))
    }
}

/// A field path such as `units[3].state.lun`: the steps from the root to a node. The root
/// itself is the empty path, shown as [`ROOT_LABEL`] where a person reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath {
    segments: Vec<Segment>,
}

/// How the root's (empty) path is shown to a person.
pub const ROOT_LABEL: &str = "(root)";

impl FieldPath {
    /// The root's path.
    pub fn root() -> FieldPath {
        FieldPath::default()
    }

    /// Parses a path. The empty path (or `.`) names the root.
    pub fn parse(text: &str) -> Result<FieldPath, PathError> {
        let syntax = |reason: &str| PathError::Syntax { path: text.to_owned(), reason: reason.to_owned() };
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed == "." || trimmed == ROOT_LABEL {
            return Ok(FieldPath::root());
        }
        let mut segments = Vec::new();
        for part in trimmed.split('.') {
            let (name, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
            if name.is_empty() {
                return Err(syntax("empty field name"));
            }
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '#' | '@')) {
                return Err(syntax(&format!("`{name}` has a character no field name has")));
            }
            let mut indices = Vec::new();
            while let Some(after) = rest.strip_prefix('[') {
                let close = after.find(']').ok_or_else(|| syntax("`[` without `]`"))?;
                let index =
                    after[..close].parse().map_err(|_| syntax(&format!("`{}` is not an index", &after[..close])))?;
                indices.push(index);
                rest = &after[close + 1..];
            }
            if !rest.is_empty() {
                return Err(syntax(&format!("unexpected `{rest}`")));
            }
            segments.push(Segment { name: name.to_owned(), indices });
        }
        Ok(FieldPath { segments })
    }

    /// The steps from the root.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether this is the root's path.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The path one step further down.
    pub fn push(&mut self, segment: Segment) {
        self.segments.push(segment);
    }

    /// This path with one more step.
    pub fn child(&self, segment: Segment) -> FieldPath {
        let mut path = self.clone();
        path.push(segment);
        path
    }

    /// The path one step up; `None` for the root.
    pub fn parent(&self) -> Option<FieldPath> {
        let (_, up) = self.segments.split_last()?;
        Some(FieldPath { segments: up.to_vec() })
    }

    /// The path of element `index` of the field this path names (`redirection_entries` →
    /// `redirection_entries[3]`).
    pub fn element(&self, index: u32) -> FieldPath {
        let mut path = self.clone();
        if let Some(last) = path.segments.last_mut() {
            last.indices.push(index);
        }
        path
    }

    /// The repeated field an element belongs to: the path without its last index
    /// (`units[3]` → `units`). Unchanged when the last step has no index.
    pub fn field(&self) -> FieldPath {
        let mut path = self.clone();
        if let Some(last) = path.segments.last_mut() {
            last.indices.pop();
        }
        path
    }

    /// The path with every index written `[*]` and every undeclared field number `#*`
    /// (`units[*].state.#*`): the place in the structure that all such nodes share.
    /// [`ROOT_LABEL`] for the root.
    pub fn pattern(&self) -> String {
        if self.is_root() {
            return ROOT_LABEL.to_owned();
        }
        let mut out = String::new();
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            let unknown = segment.name.strip_prefix('#').is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
            out.push_str(if unknown { "#*" } else { &segment.name });
            segment.indices.iter().for_each(|_| out.push_str("[*]"));
        }
        out
    }

    /// The path as a person reads it: [`ROOT_LABEL`] for the root, else the path.
    pub fn label(&self) -> String {
        if self.is_root() { ROOT_LABEL.to_owned() } else { self.to_string() }
    }
}

impl fmt::Display for FieldPath {
    /// `units[3].state.lun`; nothing for the root.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{segment}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for FieldPath {
    type Err = PathError;
    fn from_str(text: &str) -> Result<FieldPath, PathError> {
        FieldPath::parse(text)
    }
}

/// The name a node's own step shows (no indices), or `None` for transparent nodes.
pub fn segment_name(doc: &Document, id: NodeId) -> Option<String> {
    let mut out = String::new();
    let node = doc.node(id);
    push_name(doc, &node, doc.field_info_of(&node), &mut out).then_some(out)
}

/// Appends a node's step: `name`, `name[i]`, or `[i]` for a packed value; nothing for an
/// Any payload passed through. `node` is the node as read and `field` its
/// [`Document::field_info`], which the caller usually has at hand. Returns whether a name
/// was written.
pub fn push_step(doc: &Document, node: &Node, field: Option<&FieldInfo>, out: &mut String) -> bool {
    let named = push_name(doc, node, field, out);
    if shows_index(doc, node, field) {
        out.push('[');
        crate::model::value::push_decimal(u64::from(value_index(doc, node)), out);
        out.push(']');
    }
    named
}

/// A node's step name: a field's own name (or `@type`, `@#N`, `#error`, …), `#N` for a field
/// known by its number alone, or none.
enum StepName<'a> {
    Text(&'a str),
    Number(u32),
    /// A field of an Any itself that Any does not declare, `@#N`: the Any's payload is
    /// passed through into the same step, and the payload's field `#N` keeps that name.
    AnyNumber(u32),
    /// Any payloads passed through and packed values have no step of their own.
    Nameless,
}

/// The step name of `node`, whose field facts are `field`.
#[inline]
fn step_name<'a>(doc: &'a Document, node: &Node, field: Option<&'a FieldInfo>) -> StepName<'a> {
    match node.kind {
        NodeKind::Root => StepName::Text(""),
        _ if doc.is_transparent_node(node) => StepName::Nameless,
        NodeKind::Element => StepName::Nameless,
        NodeKind::Error => StepName::Text("#error"),
        // An Any declares only a string and a bytes field: a number or message field's
        // node needs no look at its parent.
        _ if field.is_none_or(|f| matches!(f.class, FieldClass::String | FieldClass::Bytes))
            && node.parent.is_some_and(|p| doc.is_any(p)) =>
        {
            match node.field_number {
                1 => StepName::Text("@type"),
                2 => StepName::Text("@value"),
                n => StepName::AnyNumber(n),
            }
        }
        _ => match field {
            Some(f) => StepName::Text(&f.name),
            None => StepName::Number(node.field_number),
        },
    }
}

/// Appends a node's step name; false for nodes without one (Any payloads passed through
/// and packed values).
fn push_name(doc: &Document, node: &Node, field: Option<&FieldInfo>, out: &mut String) -> bool {
    match step_name(doc, node, field) {
        StepName::Text(text) => out.push_str(text),
        StepName::Number(number) => push_number(number, out),
        StepName::AnyNumber(number) => {
            out.push('@');
            push_number(number, out);
        }
        StepName::Nameless => return false,
    }
    true
}

/// Appends the step name of an unknown field, `#N`: without the formatting machinery, as
/// a lookup that matches nothing names every one of a million siblings.
fn push_number(number: u32, out: &mut String) {
    out.push('#');
    crate::model::value::push_decimal(u64::from(number), out);
}

/// Whether a node's own step is named `name` (`units`, `@type`, `#7`), without building
/// its whole path.
pub fn step_is(doc: &Document, id: NodeId, name: &str) -> bool {
    let node = doc.node(id);
    match step_name(doc, &node, doc.field_info_of(&node)) {
        StepName::Text(text) => text == name,
        StepName::Number(number) => name.strip_prefix('#') == Some(itoa::Buffer::new().format(number)),
        StepName::AnyNumber(number) => name.strip_prefix("@#") == Some(itoa::Buffer::new().format(number)),
        StepName::Nameless => false,
    }
}

/// Whether a node's step carries `[i]`: always for repeated fields and elements, otherwise
/// only past the first occurrence. A packed run never does: its values are indexed.
fn shows_index(doc: &Document, node: &Node, field: Option<&FieldInfo>) -> bool {
    match node.kind {
        NodeKind::Element => true,
        NodeKind::Packed => false,
        _ if doc.is_transparent_node(node) => false,
        _ => node.index > 0 || field.is_some_and(|f| f.is_list),
    }
}

/// The `[i]` of a node: its position among the values of its field in its message, where
/// a packed run contributes one value per element (protobuf merges all occurrences of a
/// repeated field, packed or not, into one list). The decoder stores each occurrence's
/// first value index; an element adds its place in its run.
pub fn value_index(doc: &Document, node: &Node) -> u32 {
    match node.parent {
        Some(run) if node.kind == NodeKind::Element => doc.stored(run).index + node.index,
        _ => node.index,
    }
}

/// The full path of a node (empty for the root).
pub fn path_of(doc: &Document, id: NodeId) -> FieldPath {
    let mut chain = Vec::new();
    let mut cur = Some(id);
    while let Some(step) = cur {
        chain.push(step);
        cur = doc.parent(step);
    }
    let mut path = FieldPath::root();
    for &step in chain.iter().rev() {
        let node = doc.node(step);
        if node.kind == NodeKind::Root {
            continue;
        }
        let field = doc.field_info(step);
        let mut name = String::new();
        let named = push_name(doc, &node, field, &mut name);
        let index = shows_index(doc, &node, field).then(|| value_index(doc, &node));
        match (named, path.segments.last_mut()) {
            // A packed value's `[i]` belongs to its run's step.
            (false, Some(last)) if node.kind == NodeKind::Element => last.indices.extend(index),
            (false, _) => {}
            (true, _) => path.push(Segment { name, indices: index.into_iter().collect() }),
        }
    }
    path
}

/// The children a path step sees under `id`: Any payloads are flattened into their Any.
pub fn visible_children(doc: &Document, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
    VisibleChildren::of(doc, id)
}

/// [`visible_children`], which a walk may also move on past a run of siblings.
pub(in crate::model) struct VisibleChildren<'a> {
    doc: &'a Document,
    at: NodeId,
    end: NodeId,
}

impl<'a> VisibleChildren<'a> {
    /// The visible children of `id`.
    pub(in crate::model) fn of(doc: &'a Document, id: NodeId) -> Self {
        VisibleChildren { doc, at: id + 1, end: doc.node(id).next }
    }

    /// Moves on to the sibling at `id`, past those before it.
    pub(in crate::model) fn skip_to(&mut self, id: NodeId) {
        self.at = self.at.max(id);
    }
}

impl Iterator for VisibleChildren<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        // Transparent nodes come with their subtree right after them in pre-order: stepping
        // into one is moving to the next id, and leaving it is its `next`.
        while self.at < self.end {
            let here = self.at;
            if self.doc.is_transparent(here) {
                self.at = self.at + 1;
                continue;
            }
            self.at = self.doc.node(here).next;
            return Some(here);
        }
        None
    }
}

/// Finds the node a path, given as text, names.
pub fn resolve(doc: &Document, path: &str) -> Result<NodeId, PathError> {
    resolve_path(doc, &FieldPath::parse(path)?)
}

/// Finds the node a path names.
pub fn resolve_path(doc: &Document, path: &FieldPath) -> Result<NodeId, PathError> {
    resolve_path_until(doc, path, &NEVER_STOPPED)
}

/// [`resolve_path`], giving up with [`PathError::Stopped`] soon after another thread sets
/// `stop`: a lookup among millions of siblings stays interruptible.
pub fn resolve_path_until(doc: &Document, path: &FieldPath, stop: &AtomicBool) -> Result<NodeId, PathError> {
    let mut cur = NodeId::ROOT;
    let mut name = String::new();
    for segment in path.segments() {
        // One pass over the children, stopping at the match: linear in the siblings (a
        // flat run's passed at once), and no allocation per sibling.
        let mut children = VisibleChildren::of(doc, cur);
        let mut found = None;
        let mut halved = false;
        // Whether a node's row is named as the segment names it (`name` is room for it).
        let named = |node: &Node, name: &mut String| {
            name.clear();
            push_name(doc, node, doc.field_info_of(node), name) && *name == segment.name
        };
        while let Some(c) = children.next().filter(|_| !stop_asked(stop)) {
            let n = doc.node(c);
            if !named(&n, &mut name) {
                if let Some(end) = doc.flat_message_leaves(c, &n).and_then(|_| doc.flat_run_end(c)) {
                    children.skip_to(end);
                }
                continue;
            }
            found = match segment.indices.as_slice() {
                [] => Some(c),
                // An element knows its place in its run. Usually every value has a node, in
                // order; under a focus on one value, only that one does.
                &[i] if n.kind == NodeKind::Packed => i
                    .checked_sub(n.index)
                    .filter(|&k| k < n.next - c - 1)
                    .map(|k| c + (1 + k))
                    .filter(|&e| n.index + doc.node(e).index == i)
                    .or_else(|| doc.children(c).find(|&e| n.index + doc.node(e).index == i)),
                &[i] if n.index == i => Some(c),
                &[i] => match doc.flat_run_message(c, &n, i) {
                    Some((message, index, _)) if index == i => Some(message),
                    Some((_, _, end)) => {
                        children.skip_to(end);
                        None
                    }
                    // Once, from the first of its field: by halving the ids after it.
                    None if !halved && n.index < i && n.parent == Some(cur) => {
                        halved = true;
                        match child_by_halving(doc, cur, c, (n.field_number, i))
                            .filter(|&child| named(&doc.node(child), &mut name))
                        {
                            // A packed run whose first value is the one named: the value
                            // is looked for among the run's, next.
                            Some(run) if doc.kind_of(run) == NodeKind::Packed => {
                                children.skip_to(run);
                                None
                            }
                            found => found,
                        }
                    }
                    None => None,
                },
                _ => None,
            };
            if found.is_some() {
                break;
            }
        }
        cur = match found {
            Some(c) => c,
            None if stop_asked(stop) => return Err(PathError::Stopped),
            None => {
                let error = not_found(doc, path, cur, segment, stop);
                return Err(if stop_asked(stop) { PathError::Stopped } else { error });
            }
        };
    }
    Ok(cur)
}

/// The child of `parent` of field number `number` and index `index`, found by halving the
/// ids from `first` (a child of that field with a lower index) to the end of `parent`'s
/// subtree: a walk from child to child reads every one (a unit a quarter of a million units
/// into a gigabyte took 64 ms). `None` where a child met on the way is of another field
/// (whose values may lie anywhere), or none is found: the walk over the children then tells.
fn child_by_halving(doc: &Document, parent: NodeId, first: NodeId, (number, index): (u32, u32)) -> Option<NodeId> {
    let (mut below, mut above) = (first, doc.next_of(parent));
    loop {
        let from = doc.next_of(below);
        if from >= above {
            return None;
        }
        let child = child_holding(doc, parent, NodeId::from_index(from.index() + (above - from) as usize / 2))?;
        let node = doc.node(child);
        if node.field_number != number {
            return None;
        }
        match node.index.cmp(&index) {
            std::cmp::Ordering::Equal => return Some(child),
            std::cmp::Ordering::Less => below = child,
            std::cmp::Ordering::Greater => above = child,
        }
    }
}

/// How deep under a parent [`child_holding`] looks for its child.
const DEEPEST_HELD: usize = 64;

/// The child of `parent` whose subtree holds `id`, if it is at most [`DEEPEST_HELD`] levels
/// under it. A message left cold is looked up from, not decoded (`None` when it is the
/// parent).
fn child_holding(doc: &Document, parent: NodeId, mut id: NodeId) -> Option<NodeId> {
    for _ in 0..DEEPEST_HELD {
        let above = match doc.node_or_cold_message(id) {
            Ok(node) => node.parent?,
            // Under the parent itself, that child is not known without the decode.
            Err(message) if message == parent => return None,
            Err(message) => {
                id = message;
                continue;
            }
        };
        if above == parent {
            return Some(id);
        }
        id = above;
    }
    None
}

/// Why `segment` names nothing under `parent`, with what is there: the first names met,
/// each once with its count, in one pass over the children.
fn not_found(doc: &Document, path: &FieldPath, parent: NodeId, segment: &Segment, stop: &AtomicBool) -> PathError {
    // A document decoded for one top-level field has built no other: what the top level
    // holds is read from its tags.
    if parent == NodeId::ROOT
        && doc.decoder().focus().is_some()
        && let Some((names, others)) = top_level::top_level_names(doc.bytes(), doc.root_type())
    {
        return missing(path, segment, "the root".to_owned(), names, others);
    }
    // Under one message a field number always has the same name, so siblings are told
    // apart by number (and by the message they are in: an Any's own fields and its
    // payload's are seen together) and only a new one is named.
    let mut names: Vec<((Option<NodeId>, u32), Met)> = Vec::new();
    let mut others = 0;
    let mut children = VisibleChildren::of(doc, parent);
    while let Some(c) = children.next().filter(|_| !stop_asked(stop)) {
        let node = doc.node(c);
        let number = (node.parent, node.field_number);
        // A flat run's messages are counted at once, from its last one's index; a packed
        // run's values from its bytes (a streamed document has no node for them).
        let count = match doc.flat_run_message(c, &node, u32::MAX) {
            Some((_, last, end)) => {
                children.skip_to(end);
                (last - node.index) as usize + 1
            }
            None if node.kind == NodeKind::Packed => crate::model::value::packed_values(doc, c).count(),
            None => 1,
        };
        if let Some(entry) = names.iter_mut().find(|e| e.0 == number) {
            entry.1.count += count;
        } else if names.len() < LISTED {
            let mut name = String::new();
            let field = doc.field_info_of(&node);
            if push_name(doc, &node, field, &mut name) {
                let indexed = node.kind == NodeKind::Packed || shows_index(doc, &node, field);
                names.push((number, Met { name, count, indexed }));
            }
        } else {
            others += count;
        }
    }
    let parent_path = path_of(doc, parent);
    let parent = if parent_path.is_root() { "the root".to_owned() } else { parent_path.to_string() };
    missing(path, segment, parent, names.into_iter().map(|(_, met)| met).collect(), others)
}

/// Names listed at most when a path names nothing; a message naming a hundred thousand
/// fields helps nobody.
const LISTED: usize = 24;

/// A name met where a path's step names nothing: how many fields have it, and whether its
/// row shows an index.
struct Met {
    name: String,
    count: usize,
    indexed: bool,
}

/// The error for `segment` of `path` naming nothing under `parent`, given the names there
/// (in the order met) and how many fields more, with a guess at what was meant.
fn missing(path: &FieldPath, segment: &Segment, parent: String, names: Vec<Met>, others: usize) -> PathError {
    let suggestion = names
        .iter()
        .map(|met| (edit_distance(&met.name, &segment.name), met.name.clone()))
        // The name itself is listed with its values' indices: no guess is needed.
        .filter(|(d, _)| (1..=2).contains(d))
        .min()
        .map(|(_, name)| format!("did you mean `{name}`? "));
    let mut available: Vec<String> = names
        .into_iter()
        .map(|met| if met.count > 1 || met.indexed { format!("{}[0..{}]", met.name, met.count) } else { met.name })
        .collect();
    if others > 0 {
        available.push(format!("and {others} more field(s)"));
    }
    PathError::NotFound {
        path: path.to_string(),
        segment: segment.to_string(),
        parent,
        available: format!(
            "{}{}",
            suggestion.unwrap_or_default(),
            if available.is_empty() { "nothing".to_owned() } else { available.join(", ") }
        ),
    }
}

/// How many one-character edits turn `a` into `b` (Levenshtein), for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_found_by_its_index_where_a_packed_run_starts_with_it() {
        // `registers` written once unpacked (7), then as a packed run of three: the run's
        // first value is registers[1], which the lookup once gave as the whole run.
        let decoder = crate::model::redecode::tests::decoder();
        let apic = decoder.schema().pool.get_message_by_name("sample.virt.x86.Apic").expect("in the samples");
        let bytes = vec![0x10, 0x07, 0x12, 0x03, 0x0b, 0x0c, 0x0d];
        let doc = decoder.rooted_at(apic).decode(crate::model::source::Source::new(bytes));
        for (i, value) in ["7", "11", "12", "13"].into_iter().enumerate() {
            let path = format!("registers[{i}]");
            let id = doc.resolve(&path).unwrap_or_else(|e| panic!("{path}: {e:?}"));
            assert_eq!(doc.path_of(id).to_string(), path);
            let found = crate::model::value::scalar(&doc, id).map(|v| v.to_string());
            assert_eq!(found.as_deref(), Some(value), "{path}");
        }
    }

    #[test]
    fn parses_segments() {
        let path = FieldPath::parse("units[3].state.#7[1].@type.regs[0][2]").unwrap();
        let p = path.segments();
        assert_eq!(p.len(), 5);
        assert_eq!(p[0], Segment { name: "units".into(), indices: vec![3] });
        assert_eq!(p[2], Segment { name: "#7".into(), indices: vec![1] });
        assert_eq!(p[4].indices, vec![0, 2]);
        assert!(FieldPath::parse("").unwrap().is_root());
        assert!(FieldPath::parse(ROOT_LABEL).unwrap().is_root());
        for bad in ["a..b", "a[x]", "a[1", "a[1]b", "a-b"] {
            assert!(FieldPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prints_as_it_parses_and_moves_up_and_down() {
        let path = FieldPath::parse("units[3].state.regs[0][2]").unwrap();
        assert_eq!(path.to_string(), "units[3].state.regs[0][2]");
        assert_eq!(path.parent().unwrap().to_string(), "units[3].state");
        assert_eq!(path.field().to_string(), "units[3].state.regs[0]");
        assert_eq!(path.parent().unwrap().child(Segment::named("lun")).to_string(), "units[3].state.lun");
        assert_eq!(FieldPath::parse("units[3]").unwrap().field().to_string(), "units");
        assert_eq!((FieldPath::root().label(), FieldPath::root().to_string()), (ROOT_LABEL.to_owned(), String::new()));
        assert_eq!(FieldPath::root().parent(), None);
        assert_eq!(path.pattern(), "units[*].state.regs[*][*]");
        assert_eq!(FieldPath::parse("units[3].#17[2].x").unwrap().pattern(), "units[*].#*[*].x");
    }
}
