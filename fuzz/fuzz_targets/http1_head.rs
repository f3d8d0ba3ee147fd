//! What a client sends on a proxy connection, read by the gateway's own HTTP/1.1: any bytes
//! give a request it answers, "more bytes", or a hand-off to hyper, never a panic. A request it
//! answers is a `GET` over HTTP/1.1 within the limits, with no body framing, `Expect` or
//! `Upgrade`; its head is the same request read alone (what follows it does not change it); and
//! the listener's kept head recalls exactly that request.
//!
//! Input layout: byte 0 picks the limits (a header section of 64 bytes to 16 KiB, 1 to 100
//! lines); the rest is the read buffer.
// libFuzzer's driver is the program's `main`; without it (the workspace's own builds) the
// target is a program that does nothing.
#![cfg_attr(feature = "libfuzzer", no_main)]
#[cfg(not(feature = "libfuzzer"))]
fn main() {}

use cachearr_wire::http1::{HeadRead, read_head};
use http::{Method, Version, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, buf)) = data.split_first() else {
        return;
    };
    let max_bytes = 64usize << (selector & 0x07);
    let max_lines = 1 + usize::from(selector >> 3) * 100 / 31;
    match read_head(buf, max_bytes, max_lines) {
        HeadRead::Get {
            request,
            len,
            close,
            recalled,
        } => {
            assert!(
                len <= buf.len() && len <= max_bytes,
                "{len} of {}",
                buf.len()
            );
            assert!(
                buf[..len].ends_with(b"\n"),
                "a head ends with its blank line"
            );
            assert_eq!(request.method(), Method::GET);
            assert_eq!(request.version(), Version::HTTP_11);
            assert!(request.headers().len() <= max_lines);
            for name in [
                header::CONTENT_LENGTH,
                header::TRANSFER_ENCODING,
                header::EXPECT,
                header::UPGRADE,
            ] {
                assert!(!request.headers().contains_key(&name), "{name} kept");
            }
            assert!(recalled, "the kept head recalled another request");
            let HeadRead::Get {
                request: alone,
                len: alone_len,
                close: alone_close,
                ..
            } = read_head(&buf[..len], max_bytes, max_lines)
            else {
                panic!("the head alone was not read as the same request");
            };
            assert_eq!((alone_len, alone_close), (len, close));
            assert_eq!(alone.uri(), request.uri());
            assert_eq!(alone.headers(), request.headers());
        }
        HeadRead::Partial => assert!(buf.len() <= max_bytes, "waiting past the limit"),
        HeadRead::ForHyper => {}
    }
});
