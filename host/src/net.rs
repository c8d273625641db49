//! What every accepted connection (HTTP, HTTPS, and the WebSockets
//! upgraded from them) is held to before any request is read: a cap on
//! connections open from one address, a deadline for a new connection's
//! first bytes, and an idle timeout. Without them a client that opens
//! sockets and sends nothing holds a file descriptor each until the
//! process runs out and every request times out.

use std::collections::HashMap;
use std::hash::Hash;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::serve::Listener;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The block of addresses one client is counted as: an IPv4 address as
/// it is, an IPv6 address by its /64 (a host or a home gets a whole /64:
/// counted per address, one client could be a million of them).
pub fn client_block(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(bits))
            }
        },
    }
}

/// Limits on accepted connections (`[http]` in the config file).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConnectionLimits {
    /// Connections open at once from one address; 0: no cap.
    pub per_address: usize,
    /// A new connection must send its first request within this long.
    pub first_request: Duration,
    /// A connection on which nothing is read or written for this long is
    /// closed (an idle keep-alive connection, a silent WebSocket peer).
    pub idle: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            per_address: 1_024,
            first_request: Duration::from_secs(10),
            idle: Duration::from_secs(75),
        }
    }
}

/// Open connections counted by key (per client address here, per API key
/// in `auth`), each held by a [`Claim`] that gives its place back when it
/// is dropped, however the connection ends.
#[derive(Debug)]
pub struct Tally<K> {
    open: Mutex<HashMap<K, u32>>,
}

impl<K> Default for Tally<K> {
    fn default() -> Self {
        Tally {
            open: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone> Tally<K> {
    /// A claim on one more for `key`, if `admits` (given how many `key`
    /// holds now) says so.
    pub fn claim(self: &Arc<Self>, key: K, admits: impl FnOnce(u32) -> bool) -> Option<Claim<K>> {
        let mut open = self.open.lock();
        let n = open.entry(key.clone()).or_default();
        if !admits(*n) {
            if *n == 0 {
                open.remove(&key);
            }
            return None;
        }
        *n += 1;
        Some(Claim {
            tally: self.clone(),
            key,
        })
    }

    /// How many `key` holds.
    pub fn count(&self, key: &K) -> u32 {
        self.open.lock().get(key).copied().unwrap_or(0)
    }

    /// How many each key holds.
    pub fn by_key(&self) -> Vec<(K, u32)> {
        self.open
            .lock()
            .iter()
            .map(|(k, n)| (k.clone(), *n))
            .collect()
    }

    /// How many in all.
    pub fn total(&self) -> u32 {
        self.open.lock().values().sum()
    }
}

/// One open connection's place in a [`Tally`], given back on drop.
#[derive(Debug)]
pub struct Claim<K: Hash + Eq> {
    tally: Arc<Tally<K>>,
    key: K,
}

impl<K: Hash + Eq> Drop for Claim<K> {
    fn drop(&mut self) {
        let mut open = self.tally.open.lock();
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Connections open per address.
#[derive(Debug, Default)]
pub struct AddressTable {
    open: Arc<Tally<IpAddr>>,
    /// Connections refused for their address's cap.
    pub refused: AtomicU64,
}

impl AddressTable {
    /// A claim for one more connection from `ip`, unless it has `cap`
    /// open (0: no cap).
    fn admit(&self, ip: IpAddr, cap: usize) -> Option<Claim<IpAddr>> {
        let claim = self.open.claim(ip, |n| cap == 0 || (n as usize) < cap);
        if claim.is_none() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        claim
    }

    /// Connections open now, from every address.
    pub fn open(&self) -> u32 {
        self.open.total()
    }
}

/// A listener whose connections are held to [`ConnectionLimits`].
pub struct GuardedListener<L> {
    inner: L,
    limits: ConnectionLimits,
    table: Arc<AddressTable>,
}

impl<L> GuardedListener<L> {
    /// Guards `inner`'s connections, counting them in `table`.
    pub fn new(inner: L, limits: ConnectionLimits, table: Arc<AddressTable>) -> Self {
        GuardedListener {
            inner,
            limits,
            table,
        }
    }
}

impl<L> Listener for GuardedListener<L>
where
    L: Listener<Addr = SocketAddr>,
{
    type Io = Guarded<L::Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        loop {
            let (io, peer) = self.inner.accept().await;
            match self
                .table
                .admit(client_block(peer.ip()), self.limits.per_address)
            {
                Some(claim) => return (Guarded::new(io, claim, self.limits), peer),
                // Closed at once: an answer would cost what the cap saves.
                None => tracing::debug!(%peer, "connection refused: its address has too many open"),
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection with a deadline: reads fail with `TimedOut` once nothing
/// has moved for the idle time (or, before the server's first write, the
/// first-request time), and the server then drops it.
pub struct Guarded<IO> {
    io: IO,
    _claim: Claim<IpAddr>,
    limits: ConnectionLimits,
    /// When anything was last read or written; `None` until the server
    /// first writes (the first request is still awaited).
    last_activity: Option<Instant>,
    accepted: Instant,
    /// Wakes a pending read at the deadline. Reset only when it fires, so
    /// activity costs a clock read, not a timer update.
    timer: Pin<Box<Sleep>>,
}

impl<IO> Guarded<IO> {
    fn new(io: IO, claim: Claim<IpAddr>, limits: ConnectionLimits) -> Self {
        let accepted = Instant::now();
        Guarded {
            io,
            _claim: claim,
            limits,
            last_activity: None,
            accepted,
            timer: Box::pin(tokio::time::sleep_until(accepted + limits.first_request)),
        }
    }

    /// When the connection times out if nothing moves.
    fn deadline(&self) -> Instant {
        match self.last_activity {
            Some(at) => at + self.limits.idle,
            None => self.accepted + self.limits.first_request,
        }
    }

    /// Whether the deadline has passed; otherwise the timer is set to wake
    /// the reader at it.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            let deadline = self.deadline();
            if Instant::now() >= deadline {
                return true;
            }
            if self.timer.deadline() != deadline {
                self.timer.as_mut().reset(deadline);
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return false;
            }
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Guarded<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before && self.last_activity.is_some() {
                    self.last_activity = Some(Instant::now());
                }
                Poll::Ready(result)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection was idle past its limit",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Guarded<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.io).poll_write(cx, buf))?;
        self.last_activity = Some(Instant::now());
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.io).poll_write_vectored(cx, bufs))?;
        self.last_activity = Some(Instant::now());
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Raises this process's open-file limit to the hard limit the OS allows
/// (a gateway holds a descriptor per connection; the usual soft limit of
/// 1,024 is a few hundred idle clients). Returns the limit now in force.
pub fn raise_open_file_limit() -> io::Result<u64> {
    let limit = open_file_limit()?;
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct passed by pointer.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Ok(raised.rlim_cur);
        }
    }
    Ok(limit.rlim_cur)
}

/// File descriptors this process has open, and its limit (Linux: read
/// from `/proc`; `None` elsewhere).
pub fn open_files() -> Option<(u64, u64)> {
    let open = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some((open, open_file_limit().ok()?.rlim_cur))
}

/// The open-file limit, soft and hard.
fn open_file_limit() -> io::Result<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct passed by pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn limits(per_address: usize) -> ConnectionLimits {
        ConnectionLimits {
            per_address,
            first_request: Duration::from_millis(200),
            idle: Duration::from_millis(400),
        }
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_block(a), client_block(b));
        assert_ne!(client_block(a), client_block(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_block(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
        assert_eq!(
            client_block("192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn an_address_has_at_most_its_cap_open_and_closing_frees_a_place() {
        let table = AddressTable::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<_> = (0..3).map(|_| table.admit(ip, 3).unwrap()).collect();
        assert!(table.admit(ip, 3).is_none());
        assert!(table.admit("192.0.2.2".parse().unwrap(), 3).is_some());
        drop(held);
        assert_eq!(table.open(), 0);
        assert!(table.admit(ip, 3).is_some());
        assert_eq!(table.refused.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_silent_connection_times_out_and_an_active_one_does_not() {
        let table = Arc::new(AddressTable::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        // Sends nothing: cut at the first-request deadline.
        let (server, _client) = tokio::io::duplex(64);
        let mut silent = Guarded::new(server, table.admit(ip, 0).unwrap(), limits(0));
        let started = Instant::now();
        let err = silent.read(&mut [0; 8]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(200));

        // Answered, then kept busy past the idle time: stays open; then
        // left idle: cut.
        let (server, mut client) = tokio::io::duplex(64);
        let mut busy = Guarded::new(server, table.admit(ip, 0).unwrap(), limits(0));
        busy.write_all(b"hello").await.unwrap();
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            client.write_all(b"x").await.unwrap();
            assert_eq!(busy.read(&mut [0; 8]).await.unwrap(), 1);
        }
        let err = busy.read(&mut [0; 8]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
