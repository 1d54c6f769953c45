//! Waiting for a VM's SSH server: its banner, not only an open port (a
//! user-mode network forward accepts connections before the guest listens).

use std::time::{Duration, Instant};

use anyhow::bail;
use tokio::io::AsyncReadExt as _;

/// Waits until `address:port` sends an SSH banner (`SSH-...`); returns the
/// seconds waited and the banner line.
pub async fn wait_ssh(
    address: &str,
    port: u16,
    timeout: Duration,
) -> anyhow::Result<(f64, String)> {
    let t0 = Instant::now();
    let mut last = String::from("nothing answered");
    while t0.elapsed() < timeout {
        match try_banner(address, port).await {
            Ok(b) => return Ok((t0.elapsed().as_secs_f64(), b)),
            Err(e) => last = format!("{e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    bail!(
        "no SSH server answered on {address}:{port} within {} s (last: {last})",
        timeout.as_secs()
    )
}

async fn try_banner(address: &str, port: u16) -> anyhow::Result<String> {
    let connect = tokio::net::TcpStream::connect((address, port));
    let mut s = tokio::time::timeout(Duration::from_secs(3), connect).await??;
    let mut buf = vec![0u8; 256];
    let mut got = 0;
    let read = async {
        loop {
            let n = s.read(&mut buf[got..]).await?;
            if n == 0 {
                bail!("connection closed before a banner");
            }
            got += n;
            if buf[..got].contains(&b'\n') || got == buf.len() {
                return Ok::<_, anyhow::Error>(());
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read).await??;
    let line = String::from_utf8_lossy(&buf[..got])
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    if !line.starts_with("SSH-") {
        bail!("not an SSH banner: {line:?}");
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt as _;

    #[tokio::test]
    async fn waits_for_a_banner_not_a_port() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            // The first connection is closed at once (a forward with no guest behind it).
            let (s, _) = l.accept().await.unwrap();
            drop(s);
            let (mut s, _) = l.accept().await.unwrap();
            s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        });
        let (_, banner) = wait_ssh("127.0.0.1", port, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(banner, "SSH-2.0-OpenSSH_9.2");
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = free.local_addr().unwrap().port();
        drop(free);
        let e = wait_ssh("127.0.0.1", p, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no SSH server answered"), "{e}");
    }
}
