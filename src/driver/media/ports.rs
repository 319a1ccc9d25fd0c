//! RTP port pairs: even RTP port, RTCP on the next odd one (RFC 3550 §11), handed out in
//! FIFO order so a just-released port is the last to be reused (late packets of an ended
//! call do not land in a new one).

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, UdpSocket};

/// The free even ports of the configured range.
#[derive(Debug)]
pub struct PortPool {
    free: VecDeque<u16>,
}

/// A bound RTP/RTCP socket pair.
#[derive(Debug)]
pub struct BoundPair {
    /// The even RTP port.
    pub port: u16,
    /// RTP socket (non-blocking).
    pub rtp: UdpSocket,
    /// RTCP socket on `port + 1` (non-blocking).
    pub rtcp: UdpSocket,
}

impl PortPool {
    /// All even ports `p` with `p` and `p + 1` inside `min..=max`.
    pub fn new(min: u16, max: u16) -> PortPool {
        let start = min.saturating_add(min % 2);
        let free = (start..max)
            .step_by(2)
            .filter(|&p| p != 0 && p < max)
            .collect();
        PortPool { free }
    }

    /// Number of free pairs.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// Binds the next free pair on `ip`, skipping ports another program holds.
    pub fn bind_pair(&mut self, ip: IpAddr) -> io::Result<BoundPair> {
        for _ in 0..self.free.len() {
            let Some(port) = self.free.pop_front() else {
                break;
            };
            let Ok(rtp) = UdpSocket::bind((ip, port)) else {
                self.free.push_back(port);
                continue;
            };
            let Ok(rtcp) = UdpSocket::bind((ip, port + 1)) else {
                self.free.push_back(port);
                continue;
            };
            rtp.set_nonblocking(true)?;
            rtcp.set_nonblocking(true)?;
            return Ok(BoundPair { port, rtp, rtcp });
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "no free RTP port pair in the configured range",
        ))
    }

    /// Returns a pair's port once its sockets are closed.
    pub fn release(&mut self, port: u16) {
        self.free.push_back(port);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_yields_even_pairs_inside_bounds() {
        let p = PortPool::new(20001, 20009);
        assert_eq!(
            p.free.iter().copied().collect::<Vec<_>>(),
            vec![20002, 20004, 20006, 20008]
        );
        assert_eq!(PortPool::new(20000, 20000).available(), 0);
    }

    #[test]
    fn ports_held_elsewhere_are_skipped_and_released_ports_come_back_last() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let probe = UdpSocket::bind((ip, 0)).unwrap();
        let base = probe.local_addr().unwrap().port() & !1;
        drop(probe);
        let mut pool = PortPool::new(base, base + 5);
        let blocker = UdpSocket::bind((ip, base + 1));
        let first = pool.bind_pair(ip).unwrap();
        if blocker.is_ok() {
            assert_eq!(
                first.port,
                base + 2,
                "pair with its RTCP port taken is skipped"
            );
        }
        let port = first.port;
        drop(first);
        pool.release(port);
        assert_eq!(pool.free.back(), Some(&port));
    }
}
