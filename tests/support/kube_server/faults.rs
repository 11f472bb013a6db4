//! Switchable faults for reliability tests — canned 429/500 answers, dropped connections, a
//! concurrent write right after a GET, requests held until the test lets them through — and
//! the request log tests assert on.

use serde_json::Value;
use tokio::sync::oneshot;

/// How a faulted request is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultResponse {
    /// 429 with `Retry-After` and a `TooManyRequests` Status.
    TooManyRequests { retry_after_seconds: u32 },
    /// 500 with an `InternalError` Status.
    InternalError,
    /// The socket is closed after the request is read, with no response.
    DropConnection,
}

/// A fault for the next `times` requests that match `method` and contain `path_contains`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub response: FaultResponse,
    pub times: usize,
    pub method: Option<String>,
    pub path_contains: Option<String>,
}

impl Fault {
    fn new(response: FaultResponse, times: usize) -> Self {
        Self {
            response,
            times,
            method: None,
            path_contains: None,
        }
    }

    /// 429 with `Retry-After: 1`, as the apiserver's priority and fairness answers.
    pub fn too_many_requests(times: usize) -> Self {
        Self::new(
            FaultResponse::TooManyRequests {
                retry_after_seconds: 1,
            },
            times,
        )
    }

    pub fn internal_error(times: usize) -> Self {
        Self::new(FaultResponse::InternalError, times)
    }

    pub fn drop_connection(times: usize) -> Self {
        Self::new(FaultResponse::DropConnection, times)
    }

    /// Another `Retry-After` for a 429 (0 lets a retrying client go again at once).
    pub fn retry_after(mut self, seconds: u32) -> Self {
        if let FaultResponse::TooManyRequests {
            retry_after_seconds,
        } = &mut self.response
        {
            *retry_after_seconds = seconds;
        }
        self
    }

    /// Only requests with this method (`GET`, `PUT`, ...).
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only requests whose path contains this text.
    pub fn path_contains(mut self, text: &str) -> Self {
        self.path_contains = Some(text.to_owned());
        self
    }

    pub(super) fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && self.method.as_deref().is_none_or(|wanted| wanted == method)
            && self
                .path_contains
                .as_deref()
                .is_none_or(|text| path.contains(text))
    }
}

/// A change made to an object right after it was next served by a GET, as if another writer
/// had raced the client between its read and its write.
pub struct ConcurrentWrite {
    pub path: String,
    pub change: Box<dyn FnOnce(&mut Value) + Send>,
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, empty when there is none.
    pub query: String,
    /// The status code answered; `None` when the connection was dropped.
    pub status: Option<u16>,
    /// Whether the client asked for the object's metadata only (`as=PartialObjectMetadata`).
    pub metadata_only: bool,
}

/// The server's side of a [`Gate`]: the next request matching `method`, `path_contains` and
/// `query_contains` (empty: any query) announces itself on `arrived` and waits for `open`
/// before it is served.
pub struct Hold {
    pub method: String,
    pub path_contains: String,
    pub query_contains: String,
    pub arrived: oneshot::Sender<()>,
    pub open: oneshot::Receiver<()>,
}

/// The test's side of a held request ([`super::KubeServer::hold`]): wait until the request is
/// there, do what must happen while it waits, then let it through. Dropping the gate lets the
/// request through too, so a failing test never leaves a request hanging.
pub struct Gate {
    arrived: Option<oneshot::Receiver<()>>,
    open: oneshot::Sender<()>,
}

impl Gate {
    pub(super) fn new() -> (Self, oneshot::Sender<()>, oneshot::Receiver<()>) {
        let (arrived_sender, arrived) = oneshot::channel();
        let (open, open_receiver) = oneshot::channel();
        (
            Gate {
                arrived: Some(arrived),
                open,
            },
            arrived_sender,
            open_receiver,
        )
    }

    /// Returns once the held request has reached the server (it is not served yet).
    pub async fn arrived(&mut self) {
        let arrived = self.arrived.take().expect("arrived() is awaited once");
        arrived
            .await
            .expect("the server announces the held request");
    }

    /// Lets the held request be served.
    pub fn open(self) {
        // The server may be gone already (the test ends): nothing left to let through.
        let _ = self.open.send(());
    }
}

/// The fault switches of one server.
#[derive(Default)]
pub struct Faults {
    pub faults: Vec<Fault>,
    pub concurrent_writes: Vec<ConcurrentWrite>,
    pub holds: Vec<Hold>,
}

impl Faults {
    /// Takes one use of the first fault matching the request.
    pub fn take(&mut self, method: &str, path: &str) -> Option<FaultResponse> {
        let fault = self
            .faults
            .iter_mut()
            .find(|fault| fault.matches(method, path))?;
        fault.times -= 1;
        let response = fault.response.clone();
        self.faults.retain(|fault| fault.times > 0);
        Some(response)
    }

    /// Takes the hold waiting for this request, if any.
    pub fn take_hold(&mut self, method: &str, path: &str, query: &str) -> Option<Hold> {
        let index = self.holds.iter().position(|hold| {
            hold.method == method
                && path.contains(&hold.path_contains)
                && query.contains(&hold.query_contains)
        })?;
        Some(self.holds.remove(index))
    }

    /// Takes the concurrent write waiting for a GET of this path, if any.
    pub fn take_concurrent_write(&mut self, path: &str) -> Option<ConcurrentWrite> {
        let index = self
            .concurrent_writes
            .iter()
            .position(|write| write.path == path)?;
        Some(self.concurrent_writes.remove(index))
    }
}
