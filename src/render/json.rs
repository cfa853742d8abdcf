//! Canonical protobuf JSON (with `@type` for Any), through prost-reflect, for documents
//! that decode cleanly. Nesting is checked first: prost-reflect expands Any recursively.

use std::io::Write;

use prost_reflect::{DynamicMessage, SerializeOptions};

use crate::model::Document;
use crate::model::node::NodeId;

/// Deepest nesting handed to prost-reflect's recursive serializer.
const MAX_JSON_DEPTH: usize = 64;

/// Why JSON could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The node is not a message.
    #[error("`{0}` is not a message; JSON needs a message (use --format tree)")]
    NotAMessage(String),
    /// No schema for the node.
    #[error("no schema for this message; give --type or load the schema")]
    NoSchema,
    /// The document has problems JSON cannot represent.
    #[error("the blob has {0} problem(s) JSON cannot show; run `statescope check` or use --format tree")]
    Problems(usize),
    /// Nesting too deep for the serializer.
    #[error("nested more than {MAX_JSON_DEPTH} levels deep; use --format tree")]
    TooDeep,
    /// Decoding or writing failed.
    #[error("{0}")]
    Other(String),
}

/// Writes the message at `top` as pretty JSON; with `proto_names`, fields are named as the
/// `.proto` (and paths) name them rather than in canonical lowerCamelCase.
pub fn write_json(doc: &Document, top: NodeId, proto_names: bool, out: &mut impl Write) -> Result<(), JsonError> {
    let node = doc.node(top);
    let desc = doc.message_type(top).ok_or_else(|| {
        if node.is_container() {
            JsonError::NoSchema
        } else {
            JsonError::NotAMessage(crate::model::path::path_of(doc, top).to_string())
        }
    })?;
    let problems = doc.problems().iter().filter(|p| doc.contains(top, p.node)).count();
    if problems > 0 {
        return Err(JsonError::Problems(problems));
    }
    if max_depth(doc, top) > MAX_JSON_DEPTH {
        return Err(JsonError::TooDeep);
    }
    let message =
        DynamicMessage::decode(desc.clone(), doc.value_bytes(top)).map_err(|e| JsonError::Other(e.to_string()))?;
    let mut serializer = serde_json::Serializer::pretty(&mut *out);
    message
        .serialize_with_options(&mut serializer, &SerializeOptions::new().use_proto_field_name(proto_names))
        .map_err(|e| JsonError::Other(e.to_string()))?;
    writeln!(out).map_err(|e| JsonError::Other(e.to_string()))
}

fn max_depth(doc: &Document, top: NodeId) -> usize {
    let mut depth = vec![0usize; (doc.node(top).next - top) as usize];
    let mut deepest = 0;
    for id in (top + 1).up_to(doc.node(top).next) {
        let parent = doc.parent(id).expect("only the root has no parent");
        let d = depth[(parent - top) as usize] + 1;
        depth[(id - top) as usize] = d;
        deepest = deepest.max(d);
    }
    deepest
}
