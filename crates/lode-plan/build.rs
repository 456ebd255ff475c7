//! Compiles Lode's Substrait extension messages (substrait-ext/proto) with prost.

fn main() -> std::io::Result<()> {
    let proto_root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../substrait-ext/proto");
    let proto = proto_root.join("lode/ext/v1/lode.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    prost_build::Config::new().compile_protos(&[proto], &[proto_root])
}
