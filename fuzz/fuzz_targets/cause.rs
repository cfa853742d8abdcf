//! Fuzzes the likely-cause finder: the first bytes choose one single fault (a bit flipped,
//! a byte overwritten, inserted or dropped) at a place in the sample VM, or in the input's
//! remaining bytes. Every likely cause reported must carry an edit that applies to the
//! damaged blob; on the sample, applying it must leave fewer errors than the fault made.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use statescope::{Decoder, Document, Editor, ProblemKind, Schema, SchemaSources, Severity, Source};

fn schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(Schema::load(&SchemaSources::default()).unwrap())).clone()
}

fn errors(doc: &Document) -> usize {
    doc.problems().iter().filter(|p| p.kind.severity() == Severity::Error).count()
}

fuzz_target!(|data: &[u8]| {
    let Some((&[kind, value, a, b], rest)) = data.split_first_chunk::<4>() else { return };
    let on_sample = rest.len() < 16;
    let mut blob = if on_sample { statescope::samples::VM_STATE.to_vec() } else { rest.to_vec() };
    let at = usize::from(u16::from_le_bytes([a, b])) % blob.len();
    match kind % 4 {
        0 => blob[at] ^= 1 << (value % 8),
        1 => blob[at] = value,
        2 => blob.insert(at, value),
        _ => {
            blob.remove(at);
        }
    }
    let schema = schema();
    let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
    let decoder = Decoder::new(schema, root);
    let doc = decoder.decode(Source::new(blob.clone()));
    let fixes: Vec<String> = doc
        .problems()
        .iter()
        .filter_map(|p| match &p.kind {
            ProblemKind::LikelyCause(cause) => {
                let span = cause.span.start as u64..cause.span.end as u64;
                assert!(span.start <= p.offset && p.offset < span.end.max(span.start + 1), "{p:?}");
                Some(cause.fix.clone())
            }
            _ => None,
        })
        .collect();
    let before = errors(&doc);
    for fix in fixes {
        let mut editor = Editor::new(decoder.decode(Source::new(blob.clone())));
        editor.apply_script(&fix).unwrap_or_else(|e| panic!("`{fix}` does not apply: {e:?}"));
        if on_sample {
            let after = errors(&decoder.decode(Source::new(editor.doc().bytes().to_vec())));
            assert!(after < before, "`{fix}` leaves {after} errors of {before}");
        }
    }
});
