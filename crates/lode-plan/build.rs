//! Compiles Lode's Substrait extension messages (substrait-ext/proto) with prost.

fn main() -> std::io::Result<()> {
    let proto_root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../substrait-ext/proto");
    let proto = proto_root.join("lode/ext/v1/lode.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let descriptors = out.join("lode_ext_descriptors.bin");
    prost_build::Config::new()
        .file_descriptor_set_path(&descriptors)
        .compile_protos(&[proto], &[proto_root])?;
    // Proto3 JSON (serde) for the messages, so hand-written JSON plans can spell a WasmRel
    // detail out (`{"@type": "type.googleapis.com/lode.ext.v1.WasmRel", "name": ...}`).
    let set = std::fs::read(&descriptors)?;
    pbjson_build::Builder::new()
        .register_descriptors(&set)
        .map_err(std::io::Error::other)?
        .build(&[".lode.ext.v1"])
        .map_err(std::io::Error::other)
}
