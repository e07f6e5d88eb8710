//! `cargo xtask fuzz decode`: any bytes read, then every frame decoded and rendered; each decoded frame
//! has rows x columns x samples values, `normalize_all` x frames (`lucent_fuzz::laws`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: lucent_fuzz::alloc::init(), |data: &[u8]| {
    lucent_fuzz::laws::decode_target(data)
});
