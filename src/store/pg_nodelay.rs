//! Whether the PostgreSQL connections have TCP_NODELAY (tests). With
//! Nagle's algorithm on, the tail of a statement written while the server had
//! not yet acknowledged the bytes before it waited for the server's delayed
//! ACK, 40 ms on Linux: in a 3,000-message drain (`make bench-daemon`,
//! session 14) 6 % of the raw-mail inserts and 40 % of the group's message
//! inserts waited 40-60 ms. sqlx 0.9.0 did not set the option
//! (launchbadge/sqlx#4022); the daemon set it after each connection was made,
//! which left the connection's own TLS handshake and startup to Nagle: two
//! delayed ACKs, about 85 ms, for every connection opened (session 35,
//! `strace` of a start). sqlx 0.9.1 sets it as it connects (#4336): the
//! daemon no longer touches the sockets, and
//! `store_story::postgres_connections_have_tcp_nodelay` holds sqlx to it.

use std::net::SocketAddr;

/// Whether each of the process's TCP sockets connected to `host`:`port` has
/// TCP_NODELAY (tests).
pub fn nodelay_of_database_sockets(host: Option<std::net::IpAddr>, port: u16) -> Vec<bool> {
    let mut out = Vec::new();
    each_database_socket(host, port, |sock| {
        out.extend(sock.tcp_nodelay().ok());
    });
    out
}

fn each_database_socket(
    host: Option<std::net::IpAddr>,
    port: u16,
    mut f: impl FnMut(socket2::SockRef<'_>),
) {
    each_tcp_socket(|sock| {
        let peer = sock.peer_addr().ok().and_then(|a| a.as_socket());
        if peer.is_some_and(|peer| is_database(peer, host, port)) {
            f(sock);
        }
    });
}

/// Calls `f` with each TCP socket of this process (found under
/// `/proc/self/fd`; Linux only, elsewhere none). Each is a duplicate of the
/// descriptor: one closed by another thread meanwhile fails to duplicate
/// (EBADF) and is skipped; a reused number is told apart by the caller's
/// address check. Socket options set on a duplicate are the socket's.
pub fn each_tcp_socket(mut f: impl FnMut(socket2::SockRef<'_>)) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::BorrowedFd;
        let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
            return;
        };
        for entry in dir.flatten() {
            let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let is_socket = std::fs::read_link(entry.path())
                .map(|l| l.to_string_lossy().starts_with("socket:"))
                .unwrap_or(false);
            if !is_socket {
                continue;
            }
            // SAFETY: only duplicated (F_DUPFD_CLOEXEC) at once, see above.
            let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
            let Ok(owned) = borrowed.try_clone_to_owned() else {
                continue;
            };
            let sock = socket2::SockRef::from(&owned);
            if sock.r#type().ok() == Some(socket2::Type::STREAM) {
                f(sock);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = &mut f;
    }
}

fn is_database(peer: SocketAddr, host: Option<std::net::IpAddr>, port: u16) -> bool {
    peer.port() == port && host.is_none_or(|h| h == peer.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_database_peer() {
        let pg: SocketAddr = "127.0.0.1:5432".parse().unwrap();
        let imap: SocketAddr = "127.0.0.1:993".parse().unwrap();
        let other: SocketAddr = "10.0.0.1:5432".parse().unwrap();
        let lo = Some("127.0.0.1".parse().unwrap());
        assert!(is_database(pg, lo, 5432));
        assert!(!is_database(imap, lo, 5432));
        assert!(!is_database(other, lo, 5432));
        assert!(is_database(other, None, 5432));
    }

    /// A socket to the port is reported with its option; a socket to
    /// another port is not reported.
    #[test]
    fn reports_the_connections_to_the_port() {
        let db = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = db.local_addr().unwrap().port();
        let c = std::net::TcpStream::connect(db.local_addr().unwrap()).unwrap();
        let _o = std::net::TcpStream::connect(other.local_addr().unwrap()).unwrap();
        let lo = Some("127.0.0.1".parse().unwrap());
        c.set_nodelay(false).unwrap();
        assert_eq!(nodelay_of_database_sockets(lo, port), vec![false]);
        c.set_nodelay(true).unwrap();
        assert_eq!(nodelay_of_database_sockets(lo, port), vec![true]);
    }
}
