//! The floor under a cached hit: a bare hyper HTTP/1 server that answers every request with
//! one fixed body from memory, with no routing, key, cache lookup or cache headers.
//!
//! `bench/gateway/run.sh` measures it beside cachearr, nginx and Varnish with the same pinning,
//! so that the distance between cachearr and this server is what the gateway's own work costs,
//! and the distance between this server and nginx is what the approach (hyper over the kernel's
//! TCP stack, body written from user memory) costs before any gateway logic.
//!
//! ```text
//! cargo run --release -p cachearr-gateway --example bare_hit -- 127.0.0.1:8080 20564
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, header};
use hyper_util::rt::TokioIo;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let size: usize = args
        .next()
        .map(|s| s.parse().expect("SIZE must be a number of bytes"))
        .unwrap_or(20_564);
    // A JSON-looking body of the requested size, built once and shared by every answer.
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(b"{\"pad\":\"");
    body.resize(size.saturating_sub(2).max(body.len()), b'x');
    body.extend_from_slice(b"\"}");
    let body = Bytes::from(body);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!("bare_hit: {} bytes on http://{addr}", body.len());
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let body = body.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req| {
                    let body = body.clone();
                    async move {
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header(header::CONTENT_TYPE, "application/json")
                                .body(Full::new(body))
                                .expect("static response parts are valid"),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .writev(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
