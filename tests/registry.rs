//! Descriptor registration through linkme from another crate (this test crate), and the
//! precedence of user schemas over registered ones.

mod common;

use statescope::decode::registry::{DESCRIPTOR_SETS, SchemaSources, build_pool};

statescope::register_descriptors!(MYDEV_HPET, "mydev test", include_bytes!("../examples/schema/mydev.hpet.binpb"));

#[test]
fn a_crate_registers_its_own_schema_with_one_macro_call() {
    assert!(DESCRIPTOR_SETS.iter().any(|r| r.name == "mydev test"));
    let pool = build_pool(&SchemaSources::default()).unwrap();
    assert!(pool.get_message_by_name("mydev.hpet.Timer").is_some());
    assert!(pool.get_message_by_name("google.protobuf.Any").is_some(), "well-known types are registered");
    assert!(pool.get_message_by_name("openvmm.SavedState").is_some(), "samples are registered");
}

#[test]
fn user_schemas_replace_registered_files_of_the_same_name() {
    let sources = SchemaSources { proto_dirs: vec![common::openvmm().join("protos")], ..Default::default() };
    let pool = build_pool(&sources).unwrap();
    // The real virt.x86 has fields the sample's lacks: the user's file won.
    let vp = pool.get_message_by_name("virt.x86.VpSavedState").unwrap();
    assert!(vp.get_field_by_name("xsave").is_some());
    assert!(pool.get_message_by_name("mydev.hpet.SavedState").is_some(), "unrelated registered files stay");
}
