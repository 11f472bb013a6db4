//! A loopback TCP proxy that can cut the line: it forwards HTTP/1.1 connections to an upstream
//! server until told to [`Proxy::cut`] (at once, or when the Nth matching request arrives);
//! from then on it resets every connection it accepts and every live one, until
//! [`Proxy::restore`]. It stands between the binary and moto to interrupt an apply for real:
//! moto keeps its state in memory, so stopping moto itself would lose what was applied.
//!
//! Requests are counted by reading each request's head and `Content-Length` body on the client
//! side, so a cut can fall between two requests on one kept-alive connection. Responses are
//! copied through as bytes.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Proxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    accepting: JoinHandle<()>,
}

struct Shared {
    upstream: SocketAddr,
    /// `true` while the line is cut; live connections watch it to close themselves.
    cut: watch::Sender<bool>,
    trip: Mutex<Option<Trip>>,
    forwarded: AtomicUsize,
    reset: AtomicUsize,
}

/// Cut when a request containing `marker` arrives after `allowed` such requests went through.
struct Trip {
    marker: Vec<u8>,
    allowed: usize,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`, on the current runtime.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream,
            cut: watch::Sender::new(false),
            trip: Mutex::new(None),
            forwarded: AtomicUsize::new(0),
            reset: AtomicUsize::new(0),
        });
        let accepting = tokio::spawn(accept(listener, Arc::clone(&shared)));
        Proxy {
            address,
            shared,
            accepting,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Cuts the line now: live connections are reset, new ones are reset on accept.
    pub fn cut(&self) {
        self.shared.cut.send_replace(true);
    }

    /// Forwards `allowed` more requests containing `marker` (in the head or the body, e.g.
    /// `Action=CreateUser&`), then cuts the line when the next one arrives, without
    /// forwarding it. Other requests pass freely until then.
    pub fn cut_after(&self, allowed: usize, marker: &str) {
        *self
            .shared
            .trip
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Trip {
            marker: marker.as_bytes().to_vec(),
            allowed,
        });
    }

    /// Whether the line is cut now.
    pub fn is_cut(&self) -> bool {
        *self.shared.cut.borrow()
    }

    /// Forwards again, with no cut armed.
    pub fn restore(&self) {
        *self
            .shared
            .trip
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.shared.cut.send_replace(false);
    }

    /// Requests forwarded upstream so far.
    pub fn forwarded(&self) -> usize {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// Connections reset so far, on accept or while live.
    pub fn reset(&self) -> usize {
        self.shared.reset.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
        // Live connections end when they see the cut.
        self.shared.cut.send_replace(true);
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if *shared.cut.borrow() {
            reset(&client, &shared);
            continue;
        }
        tokio::spawn(relay(client, Arc::clone(&shared)));
    }
}

/// Closes with RST rather than FIN, as a dropped network path or a killed peer looks.
fn reset(stream: &TcpStream, shared: &Shared) {
    let _ = stream.set_zero_linger();
    shared.reset.fetch_add(1, Ordering::SeqCst);
}

/// One client connection: requests upstream one by one, responses back as bytes, until either
/// side closes or the line is cut.
async fn relay(mut client: TcpStream, shared: Arc<Shared>) {
    let mut cut = shared.cut.subscribe();
    let Ok(mut upstream) = TcpStream::connect(shared.upstream).await else {
        reset(&client, &shared);
        return;
    };
    {
        let (mut client_read, mut client_write) = client.split();
        let (mut upstream_read, mut upstream_write) = upstream.split();
        let requests = async {
            let mut buffer = Vec::new();
            while let Some(request) = next_request(&mut client_read, &mut buffer).await? {
                if trips(&shared, &request) || *shared.cut.borrow() {
                    return Ok(());
                }
                upstream_write.write_all(&request).await?;
                shared.forwarded.fetch_add(1, Ordering::SeqCst);
            }
            Ok::<(), io::Error>(())
        };
        let responses = tokio::io::copy(&mut upstream_read, &mut client_write);
        tokio::select! {
            _ = requests => {},
            _ = responses => {},
            _ = cut.wait_for(|cut| *cut) => {},
        }
    }
    if *shared.cut.borrow() {
        reset(&client, &shared);
        let _ = upstream.set_zero_linger();
    }
}

/// Whether `request` is the one the armed cut falls on; if so the line is cut.
fn trips(shared: &Shared, request: &[u8]) -> bool {
    let mut trip = shared.trip.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(armed) = trip.as_mut() else {
        return false;
    };
    if !contains(request, &armed.marker) {
        return false;
    }
    if armed.allowed > 0 {
        armed.allowed -= 1;
        return false;
    }
    *trip = None;
    shared.cut.send_replace(true);
    true
}

/// The next whole request (head and `Content-Length` body) from `reader`; `None` at a clean
/// end of stream. `buffer` keeps what was read past the request.
pub(super) async fn next_request(
    reader: &mut (impl AsyncRead + Unpin),
    buffer: &mut Vec<u8>,
) -> io::Result<Option<Vec<u8>>> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            let head = end + 4;
            let total = head + content_length(&buffer[..head])?;
            while buffer.len() < total {
                let read = reader.read(&mut chunk).await?;
                if read == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                buffer.extend_from_slice(&chunk[..read]);
            }
            return Ok(Some(buffer.drain(..total).collect()));
        }
        let read = reader.read(&mut chunk).await?;
        if read == 0 {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

/// The `Content-Length` of a request head, 0 when absent. A chunked body is refused: the SDK
/// sends none to IAM, STS or EKS, and counting requests needs to know where each ends.
fn content_length(head: &[u8]) -> io::Result<usize> {
    let head = String::from_utf8_lossy(head);
    let mut length = 0;
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(io::Error::other("the proxy cannot count chunked requests"));
        }
        if name.eq_ignore_ascii_case("content-length") {
            length = value
                .trim()
                .parse()
                .map_err(|_| io::Error::other(format!("bad Content-Length `{value}`")))?;
        }
    }
    Ok(length)
}

pub(super) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

#[tokio::test]
async fn requests_are_split_on_content_length() {
    let input: &[u8] =
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /x HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut reader = input;
    let mut buffer = Vec::new();
    let first = next_request(&mut reader, &mut buffer).await.expect("first");
    assert_eq!(
        first.as_deref(),
        Some(&b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"[..])
    );
    let second = next_request(&mut reader, &mut buffer)
        .await
        .expect("second");
    assert_eq!(
        second.as_deref(),
        Some(&b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"[..])
    );
    assert!(
        next_request(&mut reader, &mut buffer)
            .await
            .expect("end")
            .is_none()
    );
}

#[tokio::test]
async fn a_request_cut_short_is_an_error() {
    let mut reader: &[u8] = b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nhel";
    let mut buffer = Vec::new();
    assert!(next_request(&mut reader, &mut buffer).await.is_err());
}
