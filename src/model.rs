//! The document model: the bytes, the pre-order node arena over them with byte spans,
//! problems, stable paths and value rendering. The model builds itself: the overlay reads
//! the bytes with the schema's facts (from `decode`) and fills a document through the
//! model's own builder; everyone else only reads documents.

mod builder;
pub mod cause;
mod cold;
pub mod decoder;
pub mod document;
mod elided;
mod field_counts;
pub mod flat_walk;
mod halves;
pub mod hash;
pub mod listed;
mod moves;
pub mod node;
mod overlay;
pub mod parts;
pub mod path;
pub mod problem;
pub mod query;
mod record;
mod redecode;
pub mod run_problems;
pub mod source;
mod unit_names;
pub mod value;

pub use decoder::{Decoder, Focus, Limits, TopLevelHook};
pub use document::Document;
pub use node::{NodeId, NodeKind};
