//! `cargo xtask fuzz parse`: any bytes through `viewer_core::ingest::read_instance`; never a panic, and a
//! parsed header within ingest's limits (`lucent_fuzz::laws::check_header`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: lucent_fuzz::alloc::init(), |data: &[u8]| {
    let _ = lucent_fuzz::laws::parse_target(data);
});
