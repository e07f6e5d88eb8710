//! Lucent's fuzz targets' shared code: the laws every input must satisfy ([`laws`]) and the allocator
//! that enforces the fuzzers' allocation limit ([`alloc`]). Both files are also compiled into the stable
//! regression test (`tests/tests/fuzz_regressions.rs`) through `#[path]`, so the fuzzers and `cargo test`
//! check the same laws.

pub mod alloc;
pub mod laws;

/// Installed for both fuzz targets (they link this library).
#[global_allocator]
static ALLOCATOR: alloc::Limited = alloc::Limited;
