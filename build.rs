//! Link settings for the executables (nothing is generated).
//!
//! On glibc Linux the daemon is linked with its relative relocations packed
//! (`-z pack-relative-relocs`, DT_RELR; glibc 2.36, Debian 12, reads them).
//! A position-independent executable keeps ASLR, but the usual table of
//! 55,000 relative relocations (`.rela.dyn`, 1.3 MB, 24 bytes each) is read
//! by the loader at every start and stays resident; packed, it is a few
//! kilobytes. The test `it::cli::the_daemon_is_linked_with_packed_relocations`
//! checks the binary.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
