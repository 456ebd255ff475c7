//! Compiles Lode's cluster wire types and services (proto/lode/v1/cluster.proto). They refer
//! to Lode's Substrait extension messages (`lode.ext.v1`), which `lode-plan` already compiles.

fn main() -> std::io::Result<()> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("proto");
    let extensions = manifest.join("../../substrait-ext/proto");
    let proto = root.join("lode/v1/cluster.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    tonic_prost_build::configure()
        .extern_path(".lode.ext.v1", "::lode_plan::ext::proto")
        .compile_protos(&[proto], &[root, extensions])
}
