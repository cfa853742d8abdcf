//! The document model: the bytes, the pre-order node arena over them with byte spans,
//! problems, stable paths and value rendering.

pub mod document;
pub mod node;
pub mod path;
pub mod problem;
pub mod source;
pub mod value;

pub use document::Document;
pub use node::{NodeId, NodeKind};
