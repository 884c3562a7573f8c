//! Serving the router on a socket, plain or TLS, until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::net::TcpListener;

use crate::tls::TlsListener;

/// Serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listening socket failed.
    #[error("serving HTTP failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves `router` on `listener` until `shutdown` completes, then stops
/// accepting and waits for requests in flight to finish (graceful shutdown).
/// With `tls`, every connection is a TLS connection; plain HTTP is refused.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let service = router.into_make_service_with_connect_info::<ClientAddr>();
    match tls {
        None => {
            axum::serve(listener, service)
                .with_graceful_shutdown(shutdown)
                .await?
        }
        Some(config) => {
            axum::serve(TlsListener::new(listener, config), service)
                .with_graceful_shutdown(shutdown)
                .await?
        }
    }
    Ok(())
}

/// The peer address of a connection, plain or TLS, available to handlers as
/// `ConnectInfo<ClientAddr>` (the audit trail records it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Self(*stream.remote_addr())
    }
}
