//! A loopback HTTP/1.1 proxy in front of moto that counts every AWS request by account and
//! operation, as the server receives them (attempts and retries included), independently of
//! accessctl's own counters.
//!
//! The account of a request is the one whose credentials signed it: `sts:AssumeRole` is
//! counted in the account of the role it assumes (it is signed with the base credentials),
//! and its answer's access key id is remembered as that account's, so every later request
//! signed with it (the `Credential=` of its `Authorization` header) is counted there. The
//! operation is `service:Action`: the service from the signature's scope, the action from a
//! query-protocol body (IAM, STS) or from the method and path of a REST call (EKS).
//!
//! Requests and responses are relayed one at a time per connection (the SDK does not
//! pipeline), each read whole (`Content-Length`, or chunked for responses). Each response can
//! be held back a while ([`CountingProxy::set_latency`]): a region's round trip, which takes
//! no CPU, unlike moto's answers.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Requests signed with credentials no `sts:AssumeRole` answer gave (the base credentials).
pub const BASE: &str = "base";

/// Calls by account, then by `service:Action`.
pub type Counts = BTreeMap<String, BTreeMap<String, u64>>;

pub struct CountingProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    accepting: JoinHandle<()>,
}

struct Shared {
    upstream: SocketAddr,
    /// Access key id → account, from `sts:AssumeRole` answers.
    keys: Mutex<HashMap<String, String>>,
    counts: Mutex<Counts>,
    /// How long each response is held back, in microseconds.
    latency: AtomicU64,
}

impl CountingProxy {
    /// Listens on a free loopback port and forwards to `upstream`, on the current runtime.
    pub async fn start(upstream: SocketAddr) -> CountingProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream,
            keys: Mutex::new(HashMap::new()),
            counts: Mutex::new(Counts::new()),
            latency: AtomicU64::new(0),
        });
        let accepting = tokio::spawn(accept(listener, Arc::clone(&shared)));
        CountingProxy {
            address,
            shared,
            accepting,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Holds each response back `latency` before passing it on (0: at once).
    pub fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.shared.latency.store(micros, Ordering::Relaxed);
    }

    /// The counts since the last `take`, and a fresh start.
    pub fn take(&self) -> Counts {
        std::mem::take(
            &mut *self
                .shared
                .counts
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

impl Drop for CountingProxy {
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

/// One client connection: a request up, its response down, until either side closes.
async fn relay(mut client: TcpStream, shared: Arc<Shared>) {
    let Ok(mut upstream) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let mut from_client = Vec::new();
    let mut from_upstream = Vec::new();
    loop {
        let request = match next_message(&mut client, &mut from_client, false).await {
            Ok(Some(request)) => request,
            Ok(None) | Err(_) => return,
        };
        let seen = Seen::of(&request);
        if upstream.write_all(&request).await.is_err() {
            return;
        }
        let response = match next_message(&mut upstream, &mut from_upstream, true).await {
            Ok(Some(response)) => response,
            Ok(None) | Err(_) => return,
        };
        shared.record(&seen, &response);
        let latency = shared.latency.load(Ordering::Relaxed);
        if latency > 0 {
            tokio::time::sleep(Duration::from_micros(latency)).await;
        }
        if client.write_all(&response).await.is_err() || closes(&response) {
            return;
        }
    }
}

/// Whether the server closes the connection after `response` (HTTP/1.0 without keep-alive, or
/// `Connection: close`): the client's connection is closed too, so its next request opens a
/// new one rather than being lost.
fn closes(response: &[u8]) -> bool {
    let end = find(response, b"\r\n\r\n").unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    let connection = head
        .split("\r\n")
        .find_map(|line| line.strip_prefix("connection:"))
        .map(str::trim);
    match connection {
        Some(value) => value.contains("close"),
        None => head.starts_with("http/1.0"),
    }
}

/// What a request says about who sent it and what it asks.
struct Seen {
    key: Option<String>,
    operation: String,
    /// The account of the role an `sts:AssumeRole` assumes.
    assumes_into: Option<String>,
}

impl Seen {
    fn of(request: &[u8]) -> Seen {
        let end = find(request, b"\r\n\r\n").map_or(request.len(), |end| end + 4);
        let head = String::from_utf8_lossy(&request[..end]);
        let body = String::from_utf8_lossy(&request[end..]);
        let mut lines = head.split("\r\n");
        let mut start = lines.next().unwrap_or_default().split(' ');
        let method = start.next().unwrap_or_default();
        let path = start.next().unwrap_or_default();
        let path = path.split('?').next().unwrap_or_default();
        // `Credential=AKID/20261202/us-east-1/iam/aws4_request`.
        let scope: Vec<&str> = lines
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("authorization").then_some(value)
            })
            .and_then(|value| value.split("Credential=").nth(1))
            .map(|credential| credential.split([',', ' ']).next().unwrap_or_default())
            .map(|credential| credential.split('/').collect())
            .unwrap_or_default();
        let key = scope.first().map(|key| (*key).to_string());
        let service = scope.get(3).copied().unwrap_or("unsigned");
        let action = form_value(&body, "Action").unwrap_or_else(|| rest_operation(method, path));
        let assumes_into = (action == "AssumeRole")
            .then(|| form_value(&body, "RoleArn"))
            .flatten()
            .and_then(|arn| arn.split(':').nth(4).map(str::to_string));
        Seen {
            key,
            operation: format!("{service}:{action}"),
            assumes_into,
        }
    }
}

impl Shared {
    fn record(&self, seen: &Seen, response: &[u8]) {
        let account = match &seen.assumes_into {
            Some(account) => {
                let answered = String::from_utf8_lossy(response);
                if let Some(key) = between(&answered, "<AccessKeyId>", "</AccessKeyId>") {
                    self.keys
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(key.to_string(), account.clone());
                }
                account.clone()
            }
            None => seen
                .key
                .as_ref()
                .and_then(|key| {
                    self.keys
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get(key)
                        .cloned()
                })
                .unwrap_or_else(|| BASE.to_string()),
        };
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(account)
            .or_default()
            .entry(seen.operation.clone())
            .or_default() += 1;
    }
}

/// The EKS operations a plan makes, by method and path; others as `METHOD /path`.
fn rest_operation(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["clusters", _]) => "DescribeCluster".to_string(),
        ("GET", ["clusters", _, "access-entries"]) => "ListAccessEntries".to_string(),
        ("GET", ["clusters", _, "access-entries", _]) => "DescribeAccessEntry".to_string(),
        ("GET", ["clusters", _, "access-entries", _, "access-policies"]) => {
            "ListAssociatedAccessPolicies".to_string()
        }
        ("GET", ["clusters", _, "pod-identity-associations"]) => {
            "ListPodIdentityAssociations".to_string()
        }
        _ => format!("{method} {path}"),
    }
}

/// `name`'s value in a form-encoded body, percent-decoded.
fn form_value(body: &str, name: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| {
            percent_encoding::percent_decode_str(value)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

fn between<'t>(text: &'t str, open: &str, close: &str) -> Option<&'t str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// The next whole message (head and body) from `reader`; `None` at a clean end of stream.
/// `buffer` keeps what was read past it. A request's body is its `Content-Length`; a
/// response's is that or chunked.
async fn next_message(
    reader: &mut (impl AsyncRead + Unpin),
    buffer: &mut Vec<u8>,
    response: bool,
) -> io::Result<Option<Vec<u8>>> {
    let head = loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            break end + 4;
        }
        if !fill(reader, buffer).await? {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
    };
    let (length, chunked) = body_framing(&buffer[..head])?;
    if chunked && response {
        let mut at = head;
        loop {
            let line_end = loop {
                if let Some(end) = find(&buffer[at..], b"\r\n") {
                    break at + end;
                }
                if !fill(reader, buffer).await? {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            };
            let size_text = String::from_utf8_lossy(&buffer[at..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| io::Error::other(format!("bad chunk size `{size_text}`")))?;
            // The chunk, its CRLF; the last (empty) chunk is followed by a CRLF (no trailers).
            let next = line_end + 2 + size + 2;
            while buffer.len() < next {
                if !fill(reader, buffer).await? {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            at = next;
            if size == 0 {
                return Ok(Some(buffer.drain(..at).collect()));
            }
        }
    }
    if chunked {
        return Err(io::Error::other("the proxy cannot count chunked requests"));
    }
    let total = head + length;
    while buffer.len() < total {
        if !fill(reader, buffer).await? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(Some(buffer.drain(..total).collect()))
}

/// Reads more into `buffer`; false at the end of stream.
async fn fill(reader: &mut (impl AsyncRead + Unpin), buffer: &mut Vec<u8>) -> io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    let read = reader.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..read]);
    Ok(read > 0)
}

/// A head's `Content-Length` (0 when absent) and whether its body is chunked.
fn body_framing(head: &[u8]) -> io::Result<(usize, bool)> {
    let head = String::from_utf8_lossy(head);
    let mut length = 0;
    let mut chunked = false;
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            chunked = true;
        }
        if name.eq_ignore_ascii_case("content-length") {
            length = value
                .trim()
                .parse()
                .map_err(|_| io::Error::other(format!("bad Content-Length `{value}`")))?;
        }
    }
    Ok((length, chunked))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
