//! SIP transports: UDP sockets and TCP connections. Receivers turn bytes into [`Input`]s for
//! the engine loop; the engine sends through [`SipSockets`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use crate::core::sip::msg::Message;
use crate::core::sip::transaction::{Target, Transport};

/// Largest SIP message accepted on a stream before the connection is closed.
const MAX_STREAM_MESSAGE: usize = 256 * 1024;

/// What the transports hand to the engine loop.
#[derive(Debug)]
pub enum Input {
    /// One SIP message (a datagram, or one framed stream message).
    Packet {
        /// Where it came from (and where answers go).
        src: Target,
        /// The bytes.
        data: Vec<u8>,
    },
    /// A TCP connection opened (accepted or dialled); its writer.
    Opened {
        /// Connection id.
        conn: u64,
        /// Peer address.
        peer: SocketAddr,
        /// Bytes queued here are written to the connection.
        writer: mpsc::UnboundedSender<Arc<[u8]>>,
    },
    /// A TCP connection closed.
    Closed {
        /// Connection id.
        conn: u64,
    },
}

/// A live TCP connection: its peer and the queue its writer task drains.
type Connection = (SocketAddr, mpsc::UnboundedSender<Arc<[u8]>>);

/// The bound SIP sockets and the live TCP connections.
pub struct SipSockets {
    udp: Vec<Arc<UdpSocket>>,
    conns: HashMap<u64, Connection>,
    inputs: mpsc::Sender<Input>,
    next_conn: Arc<std::sync::atomic::AtomicU64>,
}

impl SipSockets {
    /// Binds every listen address and starts its receiver task.
    pub async fn bind(
        listen: &[crate::config::SipListen],
        inputs: mpsc::Sender<Input>,
    ) -> std::io::Result<(SipSockets, Vec<SocketAddr>)> {
        let next_conn = Arc::new(std::sync::atomic::AtomicU64::new(1));
        let mut udp = Vec::new();
        let mut bound = Vec::new();
        for l in listen {
            match l.transport {
                crate::config::ListenTransport::Udp => {
                    let sock = Arc::new(UdpSocket::bind(l.addr).await?);
                    bound.push(sock.local_addr()?);
                    tokio::spawn(udp_receiver(sock.clone(), inputs.clone()));
                    udp.push(sock);
                }
                crate::config::ListenTransport::Tcp => {
                    let listener = TcpListener::bind(l.addr).await?;
                    bound.push(listener.local_addr()?);
                    tokio::spawn(tcp_acceptor(listener, inputs.clone(), next_conn.clone()));
                }
            }
        }
        Ok((
            SipSockets {
                udp,
                conns: HashMap::new(),
                inputs,
                next_conn,
            },
            bound,
        ))
    }

    /// Records a connection's writer.
    pub fn opened(
        &mut self,
        conn: u64,
        peer: SocketAddr,
        writer: mpsc::UnboundedSender<Arc<[u8]>>,
    ) {
        self.conns.insert(conn, (peer, writer));
    }

    /// Forgets a connection.
    pub fn closed(&mut self, conn: u64) {
        self.conns.remove(&conn);
    }

    /// Sends bytes to a target: UDP from the socket of the right family; TCP on the known
    /// connection, or on one to the same peer, or on a new connection.
    pub fn send(&mut self, target: &Target, bytes: Arc<[u8]>) {
        match target.transport {
            Transport::Udp => {
                let sock = self
                    .udp
                    .iter()
                    .find(|s| {
                        s.local_addr()
                            .is_ok_and(|a| a.is_ipv4() == target.addr.is_ipv4())
                    })
                    .or_else(|| self.udp.first());
                if let Some(sock) = sock {
                    // Datagrams are best effort: SIP retransmits (RFC 3261 §17).
                    if let Err(e) = sock.try_send_to(&bytes, target.addr) {
                        tracing::debug!(%e, to = %target.addr, "udp send failed");
                    }
                }
            }
            Transport::Tcp => {
                let known = target
                    .conn
                    .and_then(|c| self.conns.get(&c))
                    .or_else(|| self.conns.values().find(|(p, _)| *p == target.addr));
                if let Some((_, w)) = known {
                    if w.send(bytes.clone()).is_ok() {
                        return;
                    }
                }
                let conn = self
                    .next_conn
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::spawn(tcp_dial(target.addr, conn, bytes, self.inputs.clone()));
            }
        }
    }
}

async fn udp_receiver(sock: Arc<UdpSocket>, inputs: mpsc::Sender<Input>) {
    let mut buf = vec![0u8; 65536];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, from)) => {
                let data = buf.get(..n).unwrap_or_default().to_vec();
                let src = Target {
                    transport: Transport::Udp,
                    addr: from,
                    conn: None,
                };
                if inputs.send(Input::Packet { src, data }).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // ICMP errors surface here on Linux for earlier sends; keep serving.
                tracing::debug!(%e, "udp receive error");
            }
        }
    }
}

async fn tcp_acceptor(
    listener: TcpListener,
    inputs: mpsc::Sender<Input>,
    next: Arc<std::sync::atomic::AtomicU64>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let conn = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = stream.set_nodelay(true);
                tokio::spawn(tcp_connection(stream, peer, conn, inputs.clone(), None));
            }
            Err(e) => {
                tracing::warn!(%e, "tcp accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn tcp_dial(addr: SocketAddr, conn: u64, first: Arc<[u8]>, inputs: mpsc::Sender<Input>) {
    match TcpStream::connect(addr).await {
        Ok(stream) => {
            let _ = stream.set_nodelay(true);
            tcp_connection(stream, addr, conn, inputs, Some(first)).await;
        }
        Err(e) => tracing::info!(%e, %addr, "tcp connect failed"),
    }
}

/// Reads framed messages from a connection and writes what the engine queues for it.
async fn tcp_connection(
    stream: TcpStream,
    peer: SocketAddr,
    conn: u64,
    inputs: mpsc::Sender<Input>,
    first: Option<Arc<[u8]>>,
) {
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Arc<[u8]>>();
    let pong = tx.clone();
    if let Some(first) = first {
        let _ = tx.send(first);
    }
    if inputs
        .send(Input::Opened {
            conn,
            peer,
            writer: tx,
        })
        .await
        .is_err()
    {
        return;
    }
    let writer = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if wr.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 16384];
    'read: loop {
        let n = match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        loop {
            // RFC 5626 §4.4.1: a double-CRLF ping on its own is answered with a single CRLF.
            let ka = Message::keepalive_len(&buf);
            if ka > 0 && ka == buf.len() {
                if ka >= 4 {
                    let _ = pong.send(Arc::from(&b"\r\n"[..]));
                }
                buf.clear();
                break;
            }
            match Message::frame(&buf) {
                Ok(Some(len)) => {
                    let data: Vec<u8> = buf.drain(..len.min(buf.len())).collect();
                    let src = Target {
                        transport: Transport::Tcp,
                        addr: peer,
                        conn: Some(conn),
                    };
                    if inputs.send(Input::Packet { src, data }).await.is_err() {
                        break 'read;
                    }
                }
                Ok(None) if buf.len() > MAX_STREAM_MESSAGE => break 'read,
                Ok(None) => break,
                // RFC 4475 §3.1.2.3: an unframeable stream cannot be resynchronised: close it.
                Err(_) => break 'read,
            }
        }
    }
    writer.abort();
    let _ = inputs.send(Input::Closed { conn }).await;
}
