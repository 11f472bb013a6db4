//! A loopback fault proxy: it reads each HTTP/1.1 request, and either answers it itself — with
//! the throttling of a token bucket, a 500, a 503 or a reset connection — or forwards it to the
//! upstream server (moto, the test API server) and copies the response back. It counts what it
//! did with every request.
//!
//! - Throttling: a token bucket of `rate` requests per second holding at most `burst`; a request
//!   that finds it empty is answered as the service throttles: AWS' Query-protocol `Throttling`
//!   error (HTTP 400, as IAM and STS answer), its JSON form for REST-JSON services (EKS), or the
//!   Kubernetes API server's 429 `TooManyRequests` Status with `Retry-After`.
//! - Random faults: each request that got a token is answered with a 500, a 503 or a connection
//!   reset with the configured probabilities, from an RNG seeded by the configuration.
//! - Scripted faults, for deterministic tests: [`FaultProxy::fault_after`] answers the Nth
//!   request containing a marker with a given fault.
//! - Latency: every request waits this long before it is answered or forwarded.
//!
//! A fault is answered before the request reaches upstream, as an overloaded front end answers:
//! a retry of a faulted request is always safe. Each forwarded request goes upstream on a
//! connection of its own (`Connection: close`), and the response is read to its end, so the
//! proxy needs no response framing of its own; the client keeps its connection alive.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::proxy::{contains, find, next_request};

/// How the upstream speaks errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// AWS: Query-protocol XML errors (IAM, STS), REST-JSON ones for JSON requests (EKS).
    Aws,
    /// The Kubernetes API server: `Status` objects, 429 with `Retry-After`.
    Kubernetes,
}

/// What the proxy does to a request instead of forwarding it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The service's throttling answer (as when the bucket is empty).
    Throttle,
    /// HTTP 500 with the service's internal-error body.
    InternalError,
    /// HTTP 503 with the service's unavailable body.
    Unavailable,
    /// The connection is reset (RST) without an answer.
    Reset,
}

/// A token bucket: `rate` tokens per second, at most `burst` held; it starts full.
#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    pub rate: f64,
    pub burst: f64,
}

#[derive(Clone, Debug)]
pub struct FaultConfig {
    pub flavor: Flavor,
    pub bucket: Option<Bucket>,
    /// Probability of a 500, a 503 and a reset, each, per request that got a token.
    pub internal_error: f64,
    pub unavailable: f64,
    pub reset: f64,
    /// Added before every answer.
    pub latency: Duration,
    pub seed: u64,
}

impl FaultConfig {
    /// Forwards everything, until faults are scripted.
    pub fn transparent(flavor: Flavor) -> Self {
        FaultConfig {
            flavor,
            bucket: None,
            internal_error: 0.0,
            unavailable: 0.0,
            reset: 0.0,
            latency: Duration::ZERO,
            seed: 17,
        }
    }
}

/// What the proxy did with the requests it read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub forwarded: usize,
    pub throttled: usize,
    pub internal_errors: usize,
    pub unavailable: usize,
    pub resets: usize,
}

impl FaultCounts {
    /// Requests answered with a 500, a 503 or a reset.
    pub fn faulted(&self) -> usize {
        self.internal_errors + self.unavailable + self.resets
    }

    /// Every request read.
    pub fn total(&self) -> usize {
        self.forwarded + self.throttled + self.faulted()
    }

    /// The counts since `earlier`, taken from the same proxy.
    pub fn since(&self, earlier: &FaultCounts) -> FaultCounts {
        FaultCounts {
            forwarded: self.forwarded - earlier.forwarded,
            throttled: self.throttled - earlier.throttled,
            internal_errors: self.internal_errors - earlier.internal_errors,
            unavailable: self.unavailable - earlier.unavailable,
            resets: self.resets - earlier.resets,
        }
    }
}

/// Answer the request containing `marker` after `allowed` such requests went through with
/// `fault`, `times` times in a row.
struct Scripted {
    marker: Vec<u8>,
    allowed: usize,
    fault: Fault,
    times: usize,
}

struct State {
    tokens: f64,
    refilled: Instant,
    rng: fastrand::Rng,
    scripted: Vec<Scripted>,
    counts: FaultCounts,
}

struct Shared {
    upstream: SocketAddr,
    config: FaultConfig,
    state: Mutex<State>,
}

pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    accepting: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream`, on the current runtime.
    pub async fn start(upstream: SocketAddr, config: FaultConfig) -> FaultProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("proxy address");
        let state = State {
            tokens: config.bucket.map_or(0.0, |bucket| bucket.burst),
            refilled: Instant::now(),
            rng: fastrand::Rng::with_seed(config.seed),
            scripted: Vec::new(),
            counts: FaultCounts::default(),
        };
        let shared = Arc::new(Shared {
            upstream,
            config,
            state: Mutex::new(state),
        });
        let accepting = tokio::spawn(accept(listener, Arc::clone(&shared)));
        FaultProxy {
            address,
            shared,
            accepting,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Lets `allowed` more requests containing `marker` (in the head or the body, e.g.
    /// `Action=CreateUser&`) through, then answers the next `times` with `fault`.
    pub fn fault_after(&self, allowed: usize, marker: &str, fault: Fault, times: usize) {
        self.state().scripted.push(Scripted {
            marker: marker.as_bytes().to_vec(),
            allowed,
            fault,
            times,
        });
    }

    /// Whether every scripted fault has been answered.
    pub fn scripted_done(&self) -> bool {
        self.state().scripted.is_empty()
    }

    pub fn counts(&self) -> FaultCounts {
        self.state().counts
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(relay(client, Arc::clone(&shared)));
    }
}

/// What happens to one request: the scripted fault first, then the bucket, then chance.
fn decide(shared: &Shared, request: &[u8]) -> Option<Fault> {
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    let state = &mut *state;
    let mut fault = None;
    if let Some(index) = state
        .scripted
        .iter()
        .position(|scripted| contains(request, &scripted.marker))
    {
        let scripted = &mut state.scripted[index];
        if scripted.allowed > 0 {
            scripted.allowed -= 1;
        } else {
            fault = Some(scripted.fault);
            scripted.times -= 1;
            if scripted.times == 0 {
                state.scripted.remove(index);
            }
        }
    }
    if fault.is_none()
        && let Some(bucket) = shared.config.bucket
    {
        let now = Instant::now();
        let refill = now.duration_since(state.refilled).as_secs_f64() * bucket.rate;
        state.tokens = (state.tokens + refill).min(bucket.burst);
        state.refilled = now;
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
        } else {
            fault = Some(Fault::Throttle);
        }
    }
    if fault.is_none() {
        let draw = state.rng.f64();
        let config = &shared.config;
        fault = if draw < config.internal_error {
            Some(Fault::InternalError)
        } else if draw < config.internal_error + config.unavailable {
            Some(Fault::Unavailable)
        } else if draw < config.internal_error + config.unavailable + config.reset {
            Some(Fault::Reset)
        } else {
            None
        };
    }
    let counts = &mut state.counts;
    match fault {
        None => counts.forwarded += 1,
        Some(Fault::Throttle) => counts.throttled += 1,
        Some(Fault::InternalError) => counts.internal_errors += 1,
        Some(Fault::Unavailable) => counts.unavailable += 1,
        Some(Fault::Reset) => counts.resets += 1,
    }
    fault
}

/// One client connection, request by request (clients do not pipeline: each request waits
/// for the answer to the one before).
async fn relay(mut client: TcpStream, shared: Arc<Shared>) {
    let (mut client_read, mut client_write) = client.split();
    let mut buffer = Vec::new();
    while let Ok(Some(request)) = next_request(&mut client_read, &mut buffer).await {
        if !shared.config.latency.is_zero() {
            tokio::time::sleep(shared.config.latency).await;
        }
        let answer = match decide(&shared, &request) {
            Some(Fault::Reset) => break,
            Some(fault) => Some(fault_response(shared.config.flavor, fault, &request)),
            None => forward(shared.upstream, &request).await,
        };
        let Some((response, keep_alive)) = answer else {
            break;
        };
        if client_write.write_all(&response).await.is_err() || !keep_alive {
            return;
        }
    }
    // A reset, or upstream unreachable: close with RST, as a dropped path looks.
    let _ = client.set_zero_linger();
}

/// Sends `request` upstream on a connection of its own and reads the whole response; also
/// whether the client may keep its connection (the response says where it ends).
async fn forward(upstream: SocketAddr, request: &[u8]) -> Option<(Vec<u8>, bool)> {
    let mut stream = TcpStream::connect(upstream).await.ok()?;
    stream.write_all(&closing(request)).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let end = find(&response, b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    let mut framed = false;
    let mut lines = Vec::new();
    for line in head.split("\r\n") {
        let name = line.split_once(':').map(|(name, _)| name.trim());
        match name {
            Some(name) if name.eq_ignore_ascii_case("connection") => continue,
            Some(name)
                if name.eq_ignore_ascii_case("content-length")
                    || name.eq_ignore_ascii_case("transfer-encoding") =>
            {
                framed = true;
            }
            _ => {}
        }
        lines.push(line);
    }
    let mut rewritten = lines.join("\r\n").into_bytes();
    if !framed {
        // Delimited by the close: the client must see it too.
        rewritten = [&response[..end - 4], b"\r\nConnection: close\r\n\r\n"].concat();
    }
    rewritten.extend_from_slice(&response[end..]);
    Some((rewritten, framed))
}

/// `request` with `Connection: close` in place of its own `Connection` header.
fn closing(request: &[u8]) -> Vec<u8> {
    let Some(end) = find(request, b"\r\n\r\n") else {
        return request.to_vec();
    };
    let head = String::from_utf8_lossy(&request[..end]);
    let mut out: Vec<u8> = head
        .split("\r\n")
        .filter(|line| {
            !line
                .split_once(':')
                .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("connection"))
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        .into_bytes();
    out.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    out.extend_from_slice(&request[end + 4..]);
    out
}

/// The answer the service gives for `fault` (not [`Fault::Reset`], which has none).
fn fault_response(flavor: Flavor, fault: Fault, request: &[u8]) -> (Vec<u8>, bool) {
    let request_id = format!("{:032x}", fastrand::u128(..));
    let (status, headers, body) = match flavor {
        Flavor::Aws if contains(request, b"Action=") => {
            let (status, kind, code, message) = match fault {
                Fault::Throttle => ("400 Bad Request", "Sender", "Throttling", "Rate exceeded"),
                Fault::Unavailable => (
                    "503 Service Unavailable",
                    "Receiver",
                    "ServiceUnavailable",
                    "Service is unable to handle request.",
                ),
                _ => (
                    "500 Internal Server Error",
                    "Receiver",
                    "InternalFailure",
                    "We encountered an internal error. Please try again.",
                ),
            };
            (
                status,
                format!("Content-Type: text/xml\r\nx-amzn-RequestId: {request_id}\r\n"),
                format!(
                    "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
                     <Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message>\
                     </Error><RequestId>{request_id}</RequestId></ErrorResponse>\n"
                ),
            )
        }
        Flavor::Aws => {
            let (status, code, message) = match fault {
                Fault::Throttle => (
                    "429 Too Many Requests",
                    "ThrottlingException",
                    "Rate exceeded",
                ),
                Fault::Unavailable => (
                    "503 Service Unavailable",
                    "ServiceUnavailableException",
                    "Service is unable to handle request.",
                ),
                _ => (
                    "500 Internal Server Error",
                    "ServerException",
                    "We encountered an internal error. Please try again.",
                ),
            };
            (
                status,
                format!(
                    "Content-Type: application/json\r\nx-amzn-RequestId: {request_id}\r\n\
                     x-amzn-ErrorType: {code}\r\n"
                ),
                format!("{{\"message\":\"{message}\"}}"),
            )
        }
        Flavor::Kubernetes => {
            let (status, code, reason, message, retry_after) = match fault {
                Fault::Throttle => (
                    "429 Too Many Requests",
                    429,
                    "TooManyRequests",
                    "Too many requests, please try again later.",
                    "Retry-After: 1\r\n",
                ),
                Fault::Unavailable => (
                    "503 Service Unavailable",
                    503,
                    "ServiceUnavailable",
                    "the server is currently unable to handle the request",
                    "",
                ),
                _ => (
                    "500 Internal Server Error",
                    500,
                    "InternalError",
                    "an error on the server has prevented the request from succeeding",
                    "",
                ),
            };
            let details = if code == 429 {
                ",\"details\":{\"retryAfterSeconds\":1}"
            } else {
                ""
            };
            (
                status,
                format!("Content-Type: application/json\r\n{retry_after}"),
                format!(
                    "{{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{{}},\
                     \"status\":\"Failure\",\"message\":\"{message}\",\"reason\":\"{reason}\"\
                     {details},\"code\":{code}}}"
                ),
            )
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    (response.into_bytes(), true)
}

#[test]
fn a_forwarded_request_asks_upstream_to_close() {
    let request =
        b"POST / HTTP/1.1\r\nHost: a\r\nconnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi";
    assert_eq!(
        closing(request),
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi".to_vec()
    );
}

#[test]
fn throttling_is_answered_as_iam_answers_it() {
    let (response, keep_alive) = fault_response(
        Flavor::Aws,
        Fault::Throttle,
        b"POST / HTTP/1.1\r\n\r\nAction=CreateUser&Version=2010-05-08",
    );
    let response = String::from_utf8(response).expect("text");
    assert!(keep_alive);
    assert!(
        response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{response}"
    );
    assert!(
        response.contains(
            "<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
        ),
        "{response}"
    );
}
