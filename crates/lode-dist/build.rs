//! Compiles Lode's cluster wire types and services (proto/lode/v1/cluster.proto).

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    let proto = root.join("lode/v1/cluster.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    tonic_prost_build::configure().compile_protos(&[proto], &[root])
}
