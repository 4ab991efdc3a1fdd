//! Compiles the protos with protox (pure Rust, no protoc needed) and generates the tonic
//! services plus a descriptor set for server reflection.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let files = [
        "registry/v1/common.proto",
        "registry/v1/municipality.proto",
        "registry/v1/facility.proto",
        "registry/v1/association.proto",
        "registry/v1/opening_hours.proto",
        "registry/v1/search.proto",
        "registry/v1/availability.proto",
        "registry/v1/vendors.proto",
        "registry/v1/changes.proto",
        "registry/v1/bookings.proto",
        "registry/v1/account.proto",
        "registry/v1/allocation.proto",
        "registry/v1/grants.proto",
    ];
    let fds = protox::compile(files, ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("registry_descriptor.bin"), prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure().build_client(true).build_server(true).codec_path("crate::codec::RegistryCodec").compile_fds(fds)?;
    Ok(())
}
