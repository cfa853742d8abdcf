//! statescope: open, browse and patch VM saved-state blobs (protobuf with nested
//! `google.protobuf.Any` payloads), resolving every Any against registered descriptors.
//!
//! The library is what the `statescope` binary is built from. Open a blob and read a field:
//!
//! ```
//! use std::sync::Arc;
//! use statescope::{Decoder, Schema, SchemaSources, Source, samples};
//!
//! // The registered descriptors (a VMM registers its own with `register_descriptors!`),
//! // plus any `.proto` folders or descriptor sets named in `SchemaSources`.
//! let schema = Arc::new(Schema::load(&SchemaSources::default())?);
//! let root = schema.pool.get_message_by_name(samples::ROOT_TYPE);
//! let doc = Decoder::new(schema, root).decode(Source::new(samples::VM_STATE.to_vec()));
//!
//! // Paths pass through Any payloads as if they were expanded.
//! let lun = doc.resolve("units[7].state.channel.drives[0].path.lun")?;
//! assert_eq!(doc.preview(lun), "2");
//! assert!(doc.problems().is_empty(), "the sample is healthy");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Decoding never fails: bytes that do not parse become [`Problem`]s on the nodes where
//! they lie, and the rest of the blob is still decoded. An [`Editor`] changes a document by
//! splicing bytes, so nothing but the edited field and its enclosing length prefixes moves.
//!
//! Layers, lowest first (a module uses only those before it; `tests/layers.rs` checks it):
//! `files` and `decode` (wire, registry, schema facts, detection), `model` (the document,
//! built by its own overlay), `render`, `edit`, `explain` and `compare`, `mutate`, `samples`, `reduce` and `redact`, `open` (turning
//! flags and files into documents), and on top `ui` and `cli`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod cli;
mod compare;
mod decode;
mod edit;
mod explain;
mod files;
mod model;
mod mutate;
mod open;
mod redact;
mod reduce;
mod render;
pub mod samples;
mod ui;

pub use decode::registry::{Collision, DESCRIPTOR_SETS, RegisteredDescriptors, SchemaError, SchemaSources};
pub use decode::schema::{FieldClass, FieldInfo, Schema, TypeInfo};
pub use decode::wire::{WireType, write_varint};
pub use edit::lean::{Edited, apply_script_lean};
pub use edit::op::{EditError, EditOp, Target, VERBS, Verb};
pub use edit::value::{unescape, unquote};
pub use edit::{Change, Editor};
pub use files::Extent;
pub use model::node::{Node, NodeId, NodeKind};
pub use model::parts::Pieces;
pub use model::path::{FieldPath, PathError, ROOT_LABEL, Segment};
pub use model::problem::{Problem, ProblemKind, Severity};
pub use model::source::{Buffer, Origin, Source, Splicing};
pub use model::value::{PackedValue, Scalar, c_escape, packed_values};
pub use model::{Decoder, Document, Focus, Limits, TopLevelHook};
pub use mutate::{Mutated, Mutation, MutationKind, Mutator, MutatorOptions, Rng, plan as plan_mutation};
pub use render::check::{CheckFormat, CheckSummary, check_streaming};
pub use render::json::{JsonError, write_json, write_json_streaming};
pub use render::text::{TextOptions, write_text, write_text_streaming};
pub use render::tree::{TreeOptions, write_tree, write_tree_streaming};

/// Runs the `statescope` command line: parses the arguments, runs the command or the
/// browser, and turns every error into one line on stderr and exit code 2.
pub fn main() -> std::process::ExitCode {
    cli::main()
}

/// The terminal browser's state and drawing, for `examples/bench_tui`; not a stable API.
#[doc(hidden)]
pub mod browser {
    pub use crate::model::query::select;
    pub use crate::ui::app::{Action, App, Effect, PromptKey};
    pub use crate::ui::keymap::help_lines;
    pub use crate::ui::view::{Theme, draw};
    pub use crate::ui::{PREVIEW_BYTES, preview_end};
}

#[doc(hidden)]
pub use linkme as __linkme;
