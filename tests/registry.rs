//! Descriptor registration through linkme from another crate (this test crate), and the
//! precedence of user schemas over registered ones.

mod common;

use statescope::{DESCRIPTOR_SETS, Schema, SchemaSources};

statescope::register_descriptors!(MYDEV_HPET, "mydev test", include_bytes!("../examples/schema/mydev.hpet.binpb"));

#[test]
fn a_crate_registers_its_own_schema_with_one_macro_call() {
    assert!(DESCRIPTOR_SETS.iter().any(|r| r.name == "mydev test"));
    let schema = Schema::load(&SchemaSources::default()).unwrap();
    let pool = &schema.pool;
    assert!(pool.get_message_by_name("mydev.hpet.Timer").is_some());
    assert!(pool.get_message_by_name("google.protobuf.Any").is_some(), "well-known types are registered");
    assert!(pool.get_message_by_name(statescope::samples::ROOT_TYPE).is_some(), "samples are registered");
}

#[test]
fn user_schemas_replace_registered_files_of_the_same_name() {
    // A user's own `sample.vmtime.proto`, declaring a field the built-in one lacks.
    let scratch = common::scratch_dir("registry");
    let dir = scratch.path();
    std::fs::write(
        dir.join("sample.vmtime.proto"),
        "syntax = \"proto3\";\npackage sample.vmtime;\nmessage SavedState {\n  uint64 vmtime = 1;\n  uint32 epoch = 9;\n}\n",
    )
    .unwrap();
    let schema = Schema::load(&SchemaSources { proto_dirs: vec![dir.to_path_buf()], ..Default::default() }).unwrap();
    let vmtime = schema.pool.get_message_by_name("sample.vmtime.SavedState").unwrap();
    assert!(vmtime.get_field_by_name("epoch").is_some(), "the user's file won");
    assert!(schema.pool.get_message_by_name("mydev.hpet.SavedState").is_some(), "unrelated registered files stay");
    assert!(
        schema.collisions().iter().all(|c| c.file != "sample.vmtime.proto"),
        "a user schema replacing a registered file is documented behaviour, not a collision"
    );
}

// Another crate registering a file under a name the built-in samples use, with other
// contents: it must win (a linking crate's schema is the one meant), and the left-out
// built-in file must be reported, never dropped silently.
statescope::register_descriptors!(CLASHING_PIT, "clashing test set", include_bytes!("data/clashing-pit.binpb"));

#[test]
fn a_registered_set_that_clashes_with_a_built_in_file_is_reported() {
    let schema = Schema::load(&SchemaSources::default()).unwrap();
    let pit = schema.pool.get_message_by_name("sample.chipset.pit.SavedState").unwrap();
    assert!(pit.get_field_by_name("clash").is_some(), "the linking crate's file is the one used");
    let collisions: Vec<String> = schema.collisions().iter().map(ToString::to_string).collect();
    assert!(
        collisions.iter().any(|c| c.contains("`statescope samples`")
            && c.contains("`sample.chipset.pit.proto` left out")
            && c.contains("`clashing test set`")),
        "{collisions:?}"
    );
    // What depends on the left-out file is reported too, not silently missing.
    assert!(collisions.iter().all(|c| c.contains("left out")), "{collisions:?}");
}
