//! Optional TLS from configuration, with rustls and the `ring` provider.
//!
//! axum's `serve` takes any [`Listener`]; a small TLS listener here keeps one
//! serving path (and one graceful shutdown) for plain and TLS, without pulling
//! in a second server crate.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Paths of the PEM certificate chain and private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert_path: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key_path: PathBuf,
}

/// Why TLS could not be set up. Names the file and the reason.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or parsed.
    #[error("{setting} ({path}): {reason}")]
    File {
        /// `tls.cert_path` or `tls.key_path`.
        setting: &'static str,
        /// The path as configured.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Certificate and key do not go together, or rustls refused them.
    #[error("tls: certificate and key cannot be used together: {0}")]
    Config(String),
}

/// Reads the certificate and key and builds a server configuration offering
/// HTTP/2 and HTTP/1.1 over TLS 1.2 and 1.3.
pub fn load_tls_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = read_certs(&files.cert_path)?;
    let key = PrivateKeyDer::from_pem_file(&files.key_path).map_err(|e| TlsError::File {
        setting: "tls.key_path",
        path: files.key_path.display().to_string(),
        reason: format!("no usable private key: {e}"),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |reason: String| TlsError::File {
        setting: "tls.cert_path",
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(format!("cannot read certificates: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(format!("bad certificate: {e}")))?;
    if certs.is_empty() {
        return Err(error("no certificate in the file".into()));
    }
    Ok(certs)
}

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Most TLS handshakes in progress at once.
const MAX_HANDSHAKES: usize = 512;

/// A listener that yields only connections whose TLS handshake succeeded.
/// Handshakes run in their own tasks, so a slow or hostile client cannot hold
/// up the others.
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: io::Result<SocketAddr>,
}

impl TlsListener {
    pub(crate) fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> Self {
        let local_addr = tcp.local_addr();
        let acceptor = TlsAcceptor::from(config);
        let (tx, ready) = mpsc::channel(64);
        let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        tokio::spawn(async move {
            loop {
                // When the server shuts down it drops the receiver: stop
                // accepting at once and release the port.
                let accepted = tokio::select! {
                    () = tx.closed() => break,
                    accepted = tcp.accept() => accepted,
                };
                let (stream, addr) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Typically EMFILE: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // At most MAX_HANDSHAKES in flight: beyond that, accepting
                // waits, so a flood of idle connections cannot exhaust memory.
                let Ok(permit) = handshakes.clone().acquire_owned().await else {
                    break;
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, addr)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
        });
        Self { ready, local_addr }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop ended; there will be no more connections.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        match &self.local_addr {
            Ok(addr) => Ok(*addr),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        }
    }
}
