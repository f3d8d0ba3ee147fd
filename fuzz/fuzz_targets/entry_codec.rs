//! The disk record codec: any bytes read back from `cache/` (a damaged file, another version)
//! decode to a value or to "corrupt", never a panic. The checksum is rewritten first so the
//! fuzzer reaches the header and body decoders behind it; a decoded value encodes back to a
//! record that decodes to the same value.
// libFuzzer's driver is the program's `main`; without it (the workspace's own builds) the
// target is a program that does nothing.
#![cfg_attr(feature = "libfuzzer", no_main)]
#[cfg(not(feature = "libfuzzer"))]
fn main() {}

use bytes::Bytes;
use cachearr_engine::bench_support::{decode_value, encode_value, reseal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // As it is (the checksum almost always fails) and resealed (the decoders behind it run).
    let _ = decode_value(&Bytes::copy_from_slice(data));
    let mut sealed = data.to_vec();
    reseal(&mut sealed);
    if let Some(value) = decode_value(&Bytes::from(sealed)) {
        let again = encode_value(&value, "fuzz", 0);
        let back = decode_value(&again).expect("a record we encoded decodes");
        assert_eq!(back.status, value.status);
        assert_eq!(back.body, value.body);
        assert_eq!(back.headers, value.headers);
    }
});
