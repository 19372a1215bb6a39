//! `radial serve probe`: a tiny HTTP GET client for the container's
//! HEALTHCHECK (the runtime image has no curl). Exit 0 on a 200 answer.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, bail};

/// GETs `path` from `addr` and fails unless the status is 200.
pub fn probe(addr: &str, path: &str, timeout: Duration) -> anyhow::Result<()> {
    let target = addr
        .to_socket_addrs()
        .with_context(|| format!("probe address {addr}"))?
        .next()
        .with_context(|| format!("probe address {addr} resolves to nothing"))?;
    let mut stream = TcpStream::connect_timeout(&target, timeout)
        .with_context(|| format!("cannot connect to {target}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head)?;
    let line = String::from_utf8_lossy(&head[..n]);
    let status = line.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        bail!("GET {path} on {target}: status {status:?}");
    }
    Ok(())
}
