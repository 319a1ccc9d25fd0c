//! Thin libc wrappers for the media shards: epoll, eventfd, batched UDP receive/send
//! (`recvmmsg`/`sendmmsg`) and socket-address conversion. Every `unsafe` block is a single
//! system call on buffers this module owns.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Datagrams taken per `recvmmsg` call.
pub const BATCH: usize = 32;
/// Largest datagram kept; RTP over UDP on Ethernet fits in 1500, longer is truncated.
pub const MAX_DGRAM: usize = 2048;

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// An epoll instance (level-triggered readiness for the shard's sockets).
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    /// Creates the epoll instance.
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: plain syscall; the returned descriptor is owned from here on.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` is a fresh, valid descriptor nobody else owns.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Watches `fd` for readability, reporting `token`.
    pub fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: `ev` lives across the call.
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })?;
        Ok(())
    }

    /// Stops watching `fd` (closing it would too; this keeps stale events away).
    pub fn delete(&self, fd: RawFd) {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: `ev` lives across the call; failure only means it was not registered.
        unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }

    /// Waits up to `timeout_ms` (−1 = forever) and returns the number of events filled.
    pub fn wait(&self, events: &mut [libc::epoll_event], timeout_ms: i32) -> io::Result<usize> {
        let max = events.len().min(i32::MAX as usize) as i32;
        // SAFETY: the kernel writes at most `max` entries into `events`.
        let r =
            unsafe { libc::epoll_wait(self.fd.as_raw_fd(), events.as_mut_ptr(), max, timeout_ms) };
        match cvt(r) {
            Ok(n) => Ok(n as usize),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }
}

/// An eventfd used to wake a shard when a command is queued.
pub struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    /// Creates a non-blocking eventfd.
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: plain syscall; the descriptor is owned from here on.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
        // SAFETY: fresh descriptor.
        Ok(EventFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The descriptor to register with epoll.
    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Wakes the waiting shard.
    pub fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a local; a full counter (EAGAIN) still leaves it readable.
        unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Resets the counter after a wake-up.
    pub fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a local.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
    }
}

/// A socket address in the kernel's representation, converted once and reused per send.
#[derive(Clone, Copy)]
pub struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl RawAddr {
    /// Converts a socket address.
    pub fn new(addr: SocketAddr) -> RawAddr {
        // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
        let mut storage: libc::sockaddr_storage = unsafe { zeroed() };
        let len = match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe {
                    std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin)
                };
                size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe {
                    std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6)
                };
                size_of::<libc::sockaddr_in6>()
            }
        };
        RawAddr {
            storage,
            len: len as libc::socklen_t,
        }
    }
}

/// Reads a socket address the kernel filled in.
#[inline]
pub fn from_storage(s: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    match s.ss_family as libc::c_int {
        libc::AF_INET if len as usize >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family and length say this storage holds a sockaddr_in.
            let sin: &libc::sockaddr_in = unsafe { &*(s as *const libc::sockaddr_storage).cast() };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len as usize >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family and length say this storage holds a sockaddr_in6.
            let sin6: &libc::sockaddr_in6 =
                unsafe { &*(s as *const libc::sockaddr_storage).cast() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Preallocated buffers for one `recvmmsg` call (owned by one shard thread).
pub struct RecvBatch {
    bufs: Box<[[u8; MAX_DGRAM]]>,
    addrs: Box<[libc::sockaddr_storage]>,
    iovs: Box<[libc::iovec]>,
    hdrs: Box<[libc::mmsghdr]>,
    count: usize,
}

impl RecvBatch {
    /// Allocates the batch once; reused for every receive.
    pub fn new() -> RecvBatch {
        // SAFETY (all three): plain C structs for which all-zero is valid.
        RecvBatch {
            bufs: vec![[0u8; MAX_DGRAM]; BATCH].into_boxed_slice(),
            addrs: (0..BATCH).map(|_| unsafe { zeroed() }).collect(),
            iovs: (0..BATCH).map(|_| unsafe { zeroed() }).collect(),
            hdrs: (0..BATCH).map(|_| unsafe { zeroed() }).collect(),
            count: 0,
        }
    }

    /// Receives up to [`BATCH`] datagrams from `fd` without blocking; returns how many.
    pub fn recv(&mut self, fd: RawFd) -> usize {
        // Pointers are set on every call, so the struct may move freely in between.
        for i in 0..BATCH {
            self.iovs[i] = libc::iovec {
                iov_base: self.bufs[i].as_mut_ptr().cast(),
                iov_len: MAX_DGRAM,
            };
            let h = &mut self.hdrs[i];
            h.msg_hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_hdr.msg_iov = &mut self.iovs[i];
            h.msg_hdr.msg_iovlen = 1;
            h.msg_hdr.msg_control = std::ptr::null_mut();
            h.msg_hdr.msg_controllen = 0;
            h.msg_hdr.msg_flags = 0;
            h.msg_len = 0;
        }
        // SAFETY: every header points at buffers owned by `self` that outlive the call.
        let r = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        self.count = if r > 0 { r as usize } else { 0 };
        self.count
    }

    /// Datagram `i` of the last receive and its source.
    #[inline]
    pub fn get(&self, i: usize) -> Option<(&[u8], Option<SocketAddr>)> {
        if i >= self.count {
            return None;
        }
        let h = self.hdrs.get(i)?;
        let len = (h.msg_len as usize).min(MAX_DGRAM);
        let data = self.bufs.get(i)?.get(..len)?;
        let src = from_storage(self.addrs.get(i)?, h.msg_hdr.msg_namelen);
        Some((data, src))
    }
}

impl Default for RecvBatch {
    fn default() -> Self {
        Self::new()
    }
}

/// Forwarding list for one `sendmmsg`: indexes into a [`RecvBatch`], all to one destination.
pub struct SendBatch {
    idx: [u8; BATCH],
    len: usize,
    iovs: Box<[libc::iovec]>,
    hdrs: Box<[libc::mmsghdr]>,
}

impl SendBatch {
    /// An empty batch.
    pub fn new() -> SendBatch {
        // SAFETY: plain C structs for which all-zero is valid.
        SendBatch {
            idx: [0; BATCH],
            len: 0,
            iovs: (0..BATCH).map(|_| unsafe { zeroed() }).collect(),
            hdrs: (0..BATCH).map(|_| unsafe { zeroed() }).collect(),
        }
    }

    /// Queues datagram `i` of the receive batch for forwarding (unchanged bytes).
    #[inline]
    pub fn push(&mut self, i: usize) {
        if let Some(slot) = self.idx.get_mut(self.len) {
            *slot = i as u8;
            self.len += 1;
        }
    }

    /// Number of queued datagrams.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets the queued datagrams.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Sends the queued datagrams from `recv` to `dest` through `fd`; returns how many left.
    /// A full socket buffer drops the rest (RTP prefers loss to delay).
    pub fn flush(&mut self, fd: RawFd, recv: &RecvBatch, dest: &RawAddr) -> usize {
        let mut n = 0;
        for k in 0..self.len {
            let Some((data, _)) = recv.get(self.idx[k] as usize) else {
                continue;
            };
            self.iovs[n] = libc::iovec {
                iov_base: data.as_ptr() as *mut libc::c_void,
                iov_len: data.len(),
            };
            let h = &mut self.hdrs[n];
            h.msg_hdr.msg_name =
                (&dest.storage as *const libc::sockaddr_storage) as *mut libc::c_void;
            h.msg_hdr.msg_namelen = dest.len;
            h.msg_hdr.msg_iov = &mut self.iovs[n];
            h.msg_hdr.msg_iovlen = 1;
            h.msg_len = 0;
            n += 1;
        }
        self.len = 0;
        let mut sent = 0;
        while sent < n {
            // SAFETY: headers point at `recv`'s buffers, `dest` and `self.iovs`, all
            // borrowed for the duration of the call; the kernel only reads them.
            let r = unsafe {
                libc::sendmmsg(
                    fd,
                    self.hdrs.as_mut_ptr().add(sent),
                    (n - sent) as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if r <= 0 {
                break;
            }
            sent += r as usize;
        }
        sent
    }
}

impl Default for SendBatch {
    fn default() -> Self {
        Self::new()
    }
}

/// Sends one datagram to `dest` without blocking; false if it was not sent.
pub fn send_to(fd: RawFd, data: &[u8], dest: &RawAddr) -> bool {
    // SAFETY: `data` and `dest` are borrowed for the call; the kernel only reads them.
    let r = unsafe {
        libc::sendto(
            fd,
            data.as_ptr().cast(),
            data.len(),
            libc::MSG_DONTWAIT,
            (&dest.storage as *const libc::sockaddr_storage).cast(),
            dest.len,
        )
    };
    r >= 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn raw_addresses_round_trip() {
        for a in ["127.0.0.1:5004", "[::1]:20000", "203.0.113.9:65535"] {
            let sa: SocketAddr = a.parse().unwrap();
            let raw = RawAddr::new(sa);
            assert_eq!(from_storage(&raw.storage, raw.len), Some(sa));
        }
    }

    #[test]
    fn batch_receive_and_forward_over_loopback() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
        sink.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        for i in 0..5u8 {
            tx.send_to(&[i; 20], rx.local_addr().unwrap()).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut batch = RecvBatch::new();
        assert_eq!(batch.recv(rx.as_raw_fd()), 5);
        let (d, src) = batch.get(3).unwrap();
        assert_eq!(d, &[3u8; 20]);
        assert_eq!(src, Some(tx.local_addr().unwrap()));
        assert!(batch.get(5).is_none());
        let mut out = SendBatch::new();
        out.push(1);
        out.push(4);
        let dest = RawAddr::new(sink.local_addr().unwrap());
        assert_eq!(out.flush(rx.as_raw_fd(), &batch, &dest), 2);
        let mut buf = [0u8; 64];
        let (n, from) = sink.recv_from(&mut buf).unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&[1u8; 20][..], rx.local_addr().unwrap())
        );
        let (n, _) = sink.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &[4u8; 20]);
        assert_eq!(batch.recv(rx.as_raw_fd()), 0, "nothing left, no blocking");
    }
}
