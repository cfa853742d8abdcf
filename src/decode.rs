//! Decoding: the wire scanner, the descriptor registry and the schema overlay that turns
//! bytes into the document's node tree.

pub mod detect;
pub mod overlay;
pub mod registry;
pub mod schema;
pub mod wire;
