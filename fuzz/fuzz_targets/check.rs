//! Fuzzes `check`'s fast paths against its plain one: any bytes, checked as the sample VM's
//! root type in one pass with every field built, then skimming clean fields and cut in
//! two and three parts (one per thread, the later ones heeding the first's search budget),
//! and in parts of 64 bytes on two threads: the reports must be byte for byte the same;
//! and the text report, which counts problems alike past a few, counts what JSON keeps.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use statescope::{CheckFormat, Decoder, Pieces, Schema, SchemaSources, Source, check_streaming};

fn decoder() -> Decoder {
    static DECODER: OnceLock<Decoder> = OnceLock::new();
    DECODER
        .get_or_init(|| {
            let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
            let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
            Decoder::new(schema, root)
        })
        .clone()
}

fn report(decoder: &Decoder, data: &[u8], pieces: Pieces) -> Vec<u8> {
    let mut out = Vec::new();
    check_streaming(decoder, Source::new(data.to_vec()), "blob", CheckFormat::Text, pieces, &mut out).unwrap();
    out
}

fuzz_target!(|data: &[u8]| {
    let decoder = decoder();
    let plain = report(&decoder, data, Pieces::per_thread(data.len(), 1));
    let skimming = decoder.clone().skimming_clean_fields();
    let small = Pieces { threads: 2, bytes: 64 };
    for pieces in (1..=3).map(|threads| Pieces::per_thread(data.len(), threads)).chain([small]) {
        let fast = report(&skimming, data, pieces);
        assert!(
            fast == plain,
            "skimming in {pieces:?}:\n{}\nplain:\n{}",
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&plain)
        );
    }
    // The text report counts problems alike past a few without keeping them; JSON keeps
    // every one: both count the same.
    let counted = |format| {
        let source = Source::new(data.to_vec());
        check_streaming(&decoder, source, "blob", format, Pieces::per_thread(data.len(), 1), &mut std::io::sink())
    };
    assert_eq!(counted(CheckFormat::Text).unwrap(), counted(CheckFormat::Json).unwrap());
});
