//! The schema overlay: scans the bytes guided by the schema and builds the pre-order node
//! arena, naming fields, resolving every Any by its type URL and recording problems.
//!
//! Invariants: it never fails and never panics; it walks with an explicit stack (no machine
//! recursion per nesting level) bounded by [`Limits::max_depth`]; every length it reads is
//! checked against the bytes actually present before anything is done with it; and the
//! nodes of each frame tile its bytes, so the whole input is covered exactly once.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};

use crate::decode::schema::{Schema, TypeTable};
use crate::decode::wire::{self, RawField, WireError, WireErrorKind, WireType};
use crate::model::node::{NONE, Node, NodeId, NodeKind};
use crate::model::problem::{Problem, ProblemKind};

/// Bounds on nesting, so that hostile input cannot exhaust time or memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest message nesting decoded; deeper values are shown raw.
    pub max_depth: u32,
    /// Deepest chain of Any inside Any decoded; deeper payloads are shown raw.
    pub max_any_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 100,
            max_any_depth: 32,
        }
    }
}

/// The result of decoding: nodes in pre-order, the interned types and every problem.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Nodes in pre-order; node 0 is the root.
    pub nodes: Vec<Node>,
    /// Message types the nodes refer to by `ty`.
    pub types: TypeTable,
    /// Problems, sorted by node then offset.
    pub problems: Vec<Problem>,
}

/// Decodes `buf` as `root` (or schema-less when `None`).
pub fn decode(
    buf: &[u8],
    schema: &Schema,
    root: Option<&MessageDescriptor>,
    limits: Limits,
) -> Decoded {
    let mut walker = Walker {
        buf,
        schema,
        limits,
        out: Decoded::default(),
    };
    walker.run(root);
    let mut out = walker.out;
    out.problems.sort_by_key(|p| (p.node, p.offset));
    out
}

/// What the `value` of an Any frame decodes as.
#[derive(Debug, Clone)]
enum AnyTarget {
    NotAny,
    Resolved(MessageDescriptor),
    Unresolved,
}

struct Frame {
    node: NodeId,
    ty: u32,
    pos: usize,
    end: usize,
    depth: u32,
    any_depth: u32,
    any: AnyTarget,
    /// Whether a wire error or truncation was met here (required-field checks are then moot).
    damaged: bool,
    /// Occurrences so far of each field number, for `[i]` indices and required checks.
    counts: Vec<(u32, u32)>,
    last: usize,
}

impl Frame {
    fn bump(&mut self, field_number: u32) -> u32 {
        if let Some(entry) = self
            .counts
            .get_mut(self.last)
            .filter(|e| e.0 == field_number)
        {
            entry.1 += 1;
            return entry.1 - 1;
        }
        match self.counts.iter().position(|e| e.0 == field_number) {
            Some(i) => {
                self.last = i;
                self.counts[i].1 += 1;
                self.counts[i].1 - 1
            }
            None => {
                self.last = self.counts.len();
                self.counts.push((field_number, 1));
                0
            }
        }
    }

    fn seen(&self, field_number: u32) -> bool {
        self.counts.iter().any(|e| e.0 == field_number)
    }
}

/// The parts of the parent frame a new field needs.
#[derive(Clone, Copy)]
struct Parent<'a> {
    node: NodeId,
    ty: u32,
    depth: u32,
    any_depth: u32,
    any: &'a AnyTarget,
}

struct Walker<'a> {
    buf: &'a [u8],
    schema: &'a Schema,
    limits: Limits,
    out: Decoded,
}

impl<'a> Walker<'a> {
    fn run(&mut self, root: Option<&MessageDescriptor>) {
        let ty = root.map_or(NONE, |m| self.out.types.intern(self.schema, m));
        let end = self.buf.len();
        self.out.nodes.push(Node {
            start: 0,
            value_start: 0,
            value_end: end as u64,
            parent: NONE,
            next: NONE,
            field_number: 0,
            index: 0,
            ty,
            kind: NodeKind::Root,
            wire: None,
            tag_len: 0,
            end_tag_len: 0,
            has_problem: false,
        });
        let mut stack = vec![self.frame(0, ty, 0, end, 0, 0)];
        while let Some(frame) = stack.last_mut() {
            if frame.pos >= frame.end {
                let done = stack.pop().expect("stack is not empty");
                self.finish(done);
                continue;
            }
            let child = self.step(frame);
            if let Some(child) = child {
                stack.push(child);
            }
        }
    }

    /// Reads one field of `frame` and records it; returns a frame to descend into.
    fn step(&mut self, frame: &mut Frame) -> Option<Frame> {
        let (pos, end) = (frame.pos, frame.end);
        let (raw, truncated) = match wire::read_field(self.buf, pos, end) {
            Ok(raw) => (raw, None),
            Err(WireError {
                reason: WireErrorKind::LengthPastEnd { len, have },
                ..
            }) => (self.truncated_field(pos, end), Some((len, have as u64))),
            Err(error) => {
                frame.pos = end;
                frame.damaged = true;
                let node = self.push_leaf(frame.node, NodeKind::Error, None, pos, pos, end, 0, 0);
                let in_type = self.type_name(frame.ty);
                self.problem(
                    node,
                    error.offset,
                    ProblemKind::Wire {
                        in_type,
                        reason: error.reason,
                    },
                );
                return None;
            }
        };
        frame.pos = raw.end;
        let index = frame.bump(raw.tag.field_number);
        let parent = Parent {
            node: frame.node,
            ty: frame.ty,
            depth: frame.depth,
            any_depth: frame.any_depth,
            any: &frame.any,
        };
        if let Some((len, have)) = truncated {
            frame.damaged = true;
            let node = self.out.nodes.len() as NodeId;
            let child = self.field(parent, &raw, index, true);
            let in_type = self.type_name(parent.ty);
            let input_ends = end == self.buf.len();
            self.drop_enclosing_truncation();
            let kind = ProblemKind::Truncated {
                len,
                have,
                in_type,
                input_ends,
            };
            self.problem(node, raw.start as u64 + u64::from(raw.tag_len), kind);
            return child;
        }
        self.field(parent, &raw, index, false)
    }

    /// Rebuilds a `len` field whose length runs past `end`: its value is what remains.
    fn truncated_field(&self, pos: usize, end: usize) -> RawField {
        let (tag, tag_len) =
            wire::read_tag(self.buf, pos, end).expect("read_field got past the tag");
        let (_, len_len) = wire::read_varint(self.buf, pos + tag_len, end)
            .expect("read_field got past the length");
        let value_start = pos + tag_len + len_len;
        RawField {
            tag,
            start: pos,
            tag_len: tag_len as u8,
            len_len: len_len as u8,
            value_start,
            value_end: end,
            end,
            scalar: 0,
        }
    }

    fn field(
        &mut self,
        parent: Parent<'_>,
        raw: &RawField,
        index: u32,
        truncated: bool,
    ) -> Option<Frame> {
        let number = raw.tag.field_number;
        if let (AnyTarget::Resolved(_) | AnyTarget::Unresolved, 2, WireType::Len) =
            (parent.any, number, raw.tag.wire_type)
        {
            return self.any_payload(parent, raw, index, truncated);
        }
        let (field, packed_only) = match self.out.types.types.get(parent.ty as usize) {
            Some(info) => (
                info.desc.get_field(number),
                info.packed_only.contains(&number),
            ),
            None => (None, false),
        };
        let Some(field) = field else {
            let node = self.raw_field(parent, raw, index);
            if let Some(in_type) = self.type_name(parent.ty) {
                self.problem(
                    node,
                    raw.start as u64,
                    ProblemKind::UnknownField { in_type },
                );
            }
            return self.group_frame(parent, raw, node, NONE);
        };
        match (field.kind(), raw.tag.wire_type) {
            (Kind::Message(m), WireType::Len) => self.message(parent, raw, index, &m, truncated),
            (Kind::Message(m), WireType::StartGroup) if field.is_group() => {
                let ty = self.out.types.intern(self.schema, &m);
                let node = self.raw_field(parent, raw, index);
                self.group_frame(parent, raw, node, ty)
            }
            (Kind::String, WireType::Len) => {
                let node = self.leaf(parent, raw, index, NodeKind::String);
                if std::str::from_utf8(&self.buf[raw.value_start..raw.value_end]).is_err() {
                    let bad = utf8_error_offset(&self.buf[raw.value_start..raw.value_end]);
                    self.problem(
                        node,
                        (raw.value_start + bad) as u64,
                        ProblemKind::InvalidUtf8,
                    );
                }
                None
            }
            (Kind::Bytes, WireType::Len) => {
                self.leaf(parent, raw, index, NodeKind::Bytes);
                None
            }
            (kind, WireType::Len)
                if field.is_list() && scalar_wire(&kind).is_some() && !truncated =>
            {
                self.packed(parent, raw, index, &kind);
                None
            }
            (kind, wire) if scalar_wire(&kind) == Some(wire) => {
                let node = self.leaf(parent, raw, index, NodeKind::Scalar);
                if packed_only {
                    self.problem(node, raw.start as u64, ProblemKind::UnpackedFixedArray);
                }
                None
            }
            (_, _) => {
                let node = self.raw_field(parent, raw, index);
                let declared = declared_type(&field);
                self.problem(
                    node,
                    raw.start as u64,
                    ProblemKind::WireTypeMismatch {
                        declared,
                        found: raw.tag.wire_type,
                    },
                );
                self.group_frame(parent, raw, node, NONE)
            }
        }
    }

    /// A field shown by its wire type alone: scalar, bytes, or a schema-less group.
    fn raw_field(&mut self, parent: Parent<'_>, raw: &RawField, index: u32) -> NodeId {
        let kind = match raw.tag.wire_type {
            WireType::Len => NodeKind::Bytes,
            WireType::StartGroup => NodeKind::Group,
            _ => NodeKind::Scalar,
        };
        if kind == NodeKind::Group {
            self.push_container(parent.node, kind, raw, index, NONE)
        } else {
            self.leaf(parent, raw, index, kind)
        }
    }

    /// Descends into a group node made by [`Self::raw_field`], if it is one.
    fn group_frame(
        &mut self,
        parent: Parent<'_>,
        raw: &RawField,
        node: NodeId,
        ty: u32,
    ) -> Option<Frame> {
        if raw.tag.wire_type != WireType::StartGroup {
            return None;
        }
        self.out.nodes[node as usize].ty = ty;
        if parent.depth + 1 > self.limits.max_depth {
            let limit = self.limits.max_depth;
            self.problem(node, raw.start as u64, ProblemKind::DepthLimit { limit });
            self.out.nodes[node as usize].next = node + 1;
            return None;
        }
        let mut frame = self.frame(
            node,
            ty,
            raw.value_start,
            raw.value_end,
            parent.depth + 1,
            parent.any_depth,
        );
        frame.any = AnyTarget::NotAny;
        Some(frame)
    }

    fn message(
        &mut self,
        parent: Parent<'_>,
        raw: &RawField,
        index: u32,
        m: &MessageDescriptor,
        truncated: bool,
    ) -> Option<Frame> {
        if parent.depth + 1 > self.limits.max_depth {
            let node = self.leaf(parent, raw, index, NodeKind::Bytes);
            let limit = self.limits.max_depth;
            self.problem(
                node,
                raw.value_start as u64,
                ProblemKind::DepthLimit { limit },
            );
            return None;
        }
        if !truncated {
            if let Err(e) = wire::validate_fields(self.buf, raw.value_start, raw.value_end) {
                let node = self.leaf(parent, raw, index, NodeKind::Bytes);
                let expected = m.full_name().to_owned();
                self.problem(
                    node,
                    e.offset as u64,
                    ProblemKind::NotParsedAs {
                        expected,
                        reason: e.reason,
                    },
                );
                return None;
            }
        }
        let ty = self.out.types.intern(self.schema, m);
        let kind = if self.out.types.types[ty as usize].is_any {
            NodeKind::Any
        } else {
            NodeKind::Message
        };
        let node = self.push_container(parent.node, kind, raw, index, ty);
        Some(self.frame(
            node,
            ty,
            raw.value_start,
            raw.value_end,
            parent.depth + 1,
            parent.any_depth,
        ))
    }

    fn any_payload(
        &mut self,
        parent: Parent<'_>,
        raw: &RawField,
        index: u32,
        truncated: bool,
    ) -> Option<Frame> {
        let AnyTarget::Resolved(m) = parent.any else {
            self.leaf(parent, raw, index, NodeKind::Bytes);
            return None;
        };
        if parent.any_depth + 1 > self.limits.max_any_depth {
            let node = self.leaf(parent, raw, index, NodeKind::Bytes);
            let limit = self.limits.max_any_depth;
            self.problem(
                node,
                raw.value_start as u64,
                ProblemKind::AnyDepthLimit { limit },
            );
            return None;
        }
        let m = m.clone();
        let frame = self.message(parent, raw, index, &m, truncated)?;
        let node = &mut self.out.nodes[frame.node as usize];
        if node.kind == NodeKind::Message || node.kind == NodeKind::Any {
            // An Any whose payload is itself an Any keeps both roles: the payload node
            // is transparent, and its own type URL is resolved in its frame.
            node.kind = NodeKind::AnyPayload;
        }
        Some(Frame {
            any_depth: parent.any_depth + 1,
            ..frame
        })
    }

    fn packed(&mut self, parent: Parent<'_>, raw: &RawField, index: u32, kind: &Kind) {
        let (start, end) = (raw.value_start, raw.value_end);
        let width = match scalar_wire(kind) {
            Some(WireType::Fixed32) => Some(4),
            Some(WireType::Fixed64) => Some(8),
            _ => None,
        };
        let check = match width {
            Some(w) if (end - start) % w != 0 => Err(WireError {
                offset: end - (end - start) % w,
                reason: WireErrorKind::TruncatedFixed {
                    wire: if w == 4 {
                        WireType::Fixed32
                    } else {
                        WireType::Fixed64
                    },
                    need: w,
                    have: (end - start) % w,
                },
            }),
            Some(_) => Ok(()),
            None => self.check_varints(start, end),
        };
        if let Err(e) = check {
            let node = self.leaf(parent, raw, index, NodeKind::Bytes);
            let expected = format!("packed repeated {}", kind_name(kind));
            self.problem(
                node,
                e.offset as u64,
                ProblemKind::NotParsedAs {
                    expected,
                    reason: e.reason,
                },
            );
            return;
        }
        let packed = self.push_container(parent.node, NodeKind::Packed, raw, index, NONE);
        let mut pos = start;
        let mut element = 0;
        while pos < end {
            let len = width.unwrap_or_else(|| {
                wire::read_varint(self.buf, pos, end).map_or(end - pos, |v| v.1)
            });
            let id = self.push_leaf(
                packed,
                NodeKind::Element,
                None,
                pos,
                pos,
                pos + len,
                raw.tag.field_number,
                element,
            );
            self.out.nodes[id as usize].index = element;
            element += 1;
            pos += len;
        }
        self.out.nodes[packed as usize].next = self.out.nodes.len() as NodeId;
    }

    fn check_varints(&self, mut pos: usize, end: usize) -> Result<(), WireError> {
        while pos < end {
            pos += wire::read_varint(self.buf, pos, end)?.1;
        }
        Ok(())
    }

    fn frame(
        &mut self,
        node: NodeId,
        ty: u32,
        pos: usize,
        end: usize,
        depth: u32,
        any_depth: u32,
    ) -> Frame {
        let any = if ty != NONE && self.out.types.types[ty as usize].is_any {
            self.resolve_any(node, pos, end)
        } else {
            AnyTarget::NotAny
        };
        Frame {
            node,
            ty,
            pos,
            end,
            depth,
            any_depth,
            any,
            damaged: false,
            counts: Vec::new(),
            last: 0,
        }
    }

    /// Finds an Any's (last) type URL and resolves it, reporting one that names no type.
    fn resolve_any(&mut self, node: NodeId, start: usize, end: usize) -> AnyTarget {
        let mut url = None;
        let mut has_value = false;
        let mut pos = start;
        while let Ok(f) = wire::read_field(self.buf, pos, end) {
            match (f.tag.field_number, f.tag.wire_type) {
                (1, WireType::Len) => url = Some((f.value_start, f.value_end)),
                (2, WireType::Len) => has_value |= f.value_end > f.value_start,
                _ => {}
            }
            pos = f.end;
        }
        let Some((from, to)) = url.filter(|(from, to)| to > from) else {
            if has_value {
                self.problem(node, start as u64, ProblemKind::MissingTypeUrl);
            }
            return AnyTarget::Unresolved;
        };
        let text = String::from_utf8_lossy(&self.buf[from..to]);
        match self.schema.resolve_type_url(&text) {
            Some(m) => AnyTarget::Resolved(m),
            None => {
                self.problem(
                    node,
                    from as u64,
                    ProblemKind::UnknownTypeUrl {
                        url: text.into_owned(),
                    },
                );
                AnyTarget::Unresolved
            }
        }
    }

    /// Closes a frame: links its subtree and checks the fields the reader requires.
    fn finish(&mut self, frame: Frame) {
        let next = self.out.nodes.len() as NodeId;
        self.out.nodes[frame.node as usize].next = next;
        if frame.damaged
            || frame.ty == NONE
            || self.out.nodes[frame.node as usize].kind == NodeKind::Group
        {
            return;
        }
        let info = &self.out.types.types[frame.ty as usize];
        let offset = self.out.nodes[frame.node as usize].value_start;
        let mut found = Vec::new();
        if info.enum_like && frame.counts.is_empty() {
            let enum_type = info.desc.full_name().to_owned();
            found.push(ProblemKind::MissingEnumVariant { enum_type });
        }
        for &number in &info.packed_only {
            if !frame.seen(number) {
                let field = info
                    .desc
                    .get_field(number)
                    .expect("packed-only fields come from the descriptor");
                found.push(ProblemKind::MissingRequiredField {
                    field: field.name().to_owned(),
                    in_type: info.desc.full_name().to_owned(),
                });
            }
        }
        for kind in found {
            self.problem(frame.node, offset, kind);
        }
    }

    fn leaf(&mut self, parent: Parent<'_>, raw: &RawField, index: u32, kind: NodeKind) -> NodeId {
        let id = self.push_container(parent.node, kind, raw, index, NONE);
        self.out.nodes[id as usize].next = id + 1;
        id
    }

    fn push_container(
        &mut self,
        parent: NodeId,
        kind: NodeKind,
        raw: &RawField,
        index: u32,
        ty: u32,
    ) -> NodeId {
        let id = self.out.nodes.len() as NodeId;
        self.out.nodes.push(Node {
            start: raw.start as u64,
            value_start: raw.value_start as u64,
            value_end: raw.value_end as u64,
            parent,
            next: NONE,
            field_number: raw.tag.field_number,
            index,
            ty,
            kind,
            wire: Some(raw.tag.wire_type),
            tag_len: raw.tag_len,
            end_tag_len: (raw.end - raw.value_end) as u8,
            has_problem: false,
        });
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn push_leaf(
        &mut self,
        parent: NodeId,
        kind: NodeKind,
        wire: Option<WireType>,
        start: usize,
        value_start: usize,
        end: usize,
        field_number: u32,
        index: u32,
    ) -> NodeId {
        let id = self.out.nodes.len() as NodeId;
        self.out.nodes.push(Node {
            start: start as u64,
            value_start: value_start as u64,
            value_end: end as u64,
            parent,
            next: id + 1,
            field_number,
            index,
            ty: NONE,
            kind,
            wire,
            tag_len: 0,
            end_tag_len: 0,
            has_problem: false,
        });
        id
    }

    fn problem(&mut self, node: NodeId, offset: impl TryInto<u64>, kind: ProblemKind) {
        let offset = offset.try_into().unwrap_or(u64::MAX);
        self.out.nodes[node as usize].has_problem = true;
        self.out.problems.push(Problem { node, offset, kind });
    }

    /// A truncation inside a truncated field is the same defect seen deeper: only the
    /// innermost one is reported, where the bytes actually run out.
    fn drop_enclosing_truncation(&mut self) {
        let Some(i) = self
            .out
            .problems
            .iter()
            .rposition(|p| matches!(p.kind, ProblemKind::Truncated { .. }))
        else {
            return;
        };
        let node = self.out.problems[i].node;
        if self.out.nodes[node as usize].next == NONE {
            self.out.problems.remove(i);
            let still = self.out.problems.iter().any(|p| p.node == node);
            self.out.nodes[node as usize].has_problem = still;
        }
    }

    fn type_name(&self, ty: u32) -> Option<String> {
        (ty != NONE).then(|| {
            self.out.types.types[ty as usize]
                .desc
                .full_name()
                .to_owned()
        })
    }
}

/// The wire type a scalar kind is written with, or `None` for strings, bytes and messages.
pub fn scalar_wire(kind: &Kind) -> Option<WireType> {
    Some(match kind {
        Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Sint32 | Kind::Sint64 => {
            WireType::Varint
        }
        Kind::Bool | Kind::Enum(_) => WireType::Varint,
        Kind::Fixed32 | Kind::Sfixed32 | Kind::Float => WireType::Fixed32,
        Kind::Fixed64 | Kind::Sfixed64 | Kind::Double => WireType::Fixed64,
        Kind::String | Kind::Bytes | Kind::Message(_) => return None,
    })
}

/// The protobuf name of a field kind (`uint32`, `string`, a message's full name, …).
pub fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
        Kind::Message(m) => m.full_name().to_owned(),
        Kind::Enum(e) => e.full_name().to_owned(),
    }
}

/// The declared type of a field as written in a `.proto` (`repeated uint64`, …).
pub fn declared_type(field: &FieldDescriptor) -> String {
    let name = kind_name(&field.kind());
    if field.is_list() {
        format!("repeated {name}")
    } else {
        name
    }
}

fn utf8_error_offset(bytes: &[u8]) -> usize {
    std::str::from_utf8(bytes)
        .err()
        .map_or(0, |e| e.valid_up_to())
}
