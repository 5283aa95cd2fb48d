//! SMTP over implicit TLS (`smtp.tls = "implicit"`, port 465 style). The
//! loopback stack has no such port, so the test puts a TLS-terminating proxy
//! with the stack's own certificate in front of Postfix: the sender's mail
//! must arrive in the recipient's Maildir, and the sender's socket must have
//! `TCP_NODELAY` set, as on the plain and STARTTLS paths (src/mail/smtp.rs
//! says why: without it a crash in the delayed-ACK wait sends a mail twice).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use breachwatch::config::Config;
use breachwatch::mail::smtp::{SendOutcome, SmtpSender, SmtpSession};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::harness::*;

/// A TLS listener on loopback that hands every connection on to Postfix's
/// plain SMTP port; it reports the peer address of each client it accepts,
/// and the local address of its own connection to Postfix (opened without
/// `TCP_NODELAY`).
async fn implicit_tls_proxy(
    stack: &Stack,
    postfix: u16,
) -> (
    u16,
    tokio::sync::mpsc::UnboundedReceiver<(SocketAddr, SocketAddr)>,
) {
    let tls = std::path::PathBuf::from(stack.get("MAILSTACK_STATE_DIR")).join("tls");
    let chain = CertificateDer::pem_file_iter(tls.join("fullchain.pem"))
        .expect("the stack's fullchain.pem")
        .collect::<Result<Vec<_>, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(tls.join("key.pem")).expect("the stack's key.pem");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, peer)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut up) = tokio::net::TcpStream::connect(("127.0.0.1", postfix)).await
                else {
                    return;
                };
                if let Ok(local) = up.local_addr() {
                    let _ = tx.send((peer, local));
                }
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    });
    (port, rx)
}

/// `TCP_NODELAY` of this process's TCP socket from `local` to `remote` (the
/// sender's end of a loopback connection). Both ends are matched: the
/// kernel gives one ephemeral port to several connections with different
/// remote ends, and the tests running beside this one hold their own.
fn nodelay_of_socket(local: SocketAddr, remote: SocketAddr) -> Option<bool> {
    let mut out = None;
    breachwatch::store::pg_nodelay::each_tcp_socket(|sock| {
        let at = sock.local_addr().ok().and_then(|a| a.as_socket());
        let to = sock.peer_addr().ok().and_then(|a| a.as_socket());
        if at == Some(local) && to == Some(remote) {
            out = sock.tcp_nodelay().ok();
        }
    });
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_delivers_with_tcp_nodelay() {
    let s = setup(Knobs::default());
    let (port, mut peers) = implicit_tls_proxy(&s.stack, s.stack.smtp_port()).await;
    // The harness config, its [smtp] turned to implicit TLS through the proxy
    // with the stack's CA (the only [smtp] tls line is `tls = "none"`).
    let text = std::fs::read_to_string(&s.config).unwrap();
    let smtp_port_line = format!("port = {}\ntls = \"none\"", s.stack.smtp_port());
    assert!(text.contains(&smtp_port_line), "{text}");
    let text = text.replace(
        &smtp_port_line,
        &format!(
            "port = {port}\ntls = \"implicit\"\nca_file = \"{}\"",
            s.stack.get("MAILSTACK_TLS_CA")
        ),
    );
    let cfg = Config::from_toml(&text, |_| None).expect("config");
    assert!(matches!(
        cfg.smtp.tls,
        breachwatch::config::SmtpTls::Implicit
    ));
    let sender = SmtpSender::new(&cfg.smtp).expect("sender");
    let mut session = SmtpSession::default();
    let id = format!("smtps-{}@example.test", rand::random::<u64>());
    let raw = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: over implicit TLS\r\nMessage-ID: <{id}>\r\n\r\nhello\r\n",
        from = s.users.addr("breach"),
        to = s.users.addr("official"),
    );
    let outcome = sender
        .send_on(
            &mut session,
            &s.users.addr("breach"),
            &[s.users.addr("official")],
            raw.as_bytes(),
        )
        .await;
    assert!(
        matches!(outcome, SendOutcome::Sent(_)),
        "send over implicit TLS: {outcome:?}"
    );
    // The sender's end of the connection it keeps for the next mail.
    let (peer, upstream) = tokio::time::timeout(Duration::from_secs(5), peers.recv())
        .await
        .expect("the proxy saw a connection")
        .expect("peer");
    assert!(session.is_open());
    let proxy = SocketAddr::from(([127, 0, 0, 1], port));
    let postfix = SocketAddr::from(([127, 0, 0, 1], s.stack.smtp_port()));
    let (nodelay, proxy_nodelay) = tokio::task::spawn_blocking(move || {
        (
            nodelay_of_socket(peer, proxy),
            nodelay_of_socket(upstream, postfix),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        nodelay,
        Some(true),
        "the implicit-TLS SMTP socket {peer} has TCP_NODELAY"
    );
    // The look-up tells the two apart: the proxy's own socket has it off.
    assert_eq!(proxy_nodelay, Some(false), "the proxy's socket {upstream}");
    let got = tokio::task::spawn_blocking(move || {
        wait_for(30, "the mail in the official's INBOX", || {
            s.mails("official", "")
                .into_iter()
                .find(|m| m.message_id == id)
        })
    })
    .await
    .unwrap();
    assert_eq!(got.subject, "over implicit TLS");
}
