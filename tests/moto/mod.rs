//! A moto server (the AWS API mock) for tests of the live-AWS code: installed on first use into
//! `.venv` by `scripts/moto-venv`, started on a free loopback port per test group, wiped with
//! [`Moto::reset`] and stopped when dropped.
//!
//! Clients get the endpoint and dummy credentials explicitly, never through the process
//! environment, since tests run in parallel. Where moto differs from IAM:
//! shared/notes/test-components.md.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use accessctl::aws::Clients;
use accessctl::aws::config::http_client;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The account moto answers for when nothing says otherwise.
pub const MOTO_DEFAULT_ACCOUNT: &str = "123456789012";
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

/// The first start imports a lot of Python on a busy 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(90);

pub struct Moto {
    child: Child,
    port: u16,
    /// How long the server took to accept connections.
    pub started_in: Duration,
}

impl Moto {
    /// Installs moto if needed and starts a server on 127.0.0.1 with a port the OS picks.
    pub fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    /// Like [`Moto::start`], with extra environment for the server (moto's settings, e.g.
    /// `MOTO_IAM_LOAD_MANAGED_POLICIES=true` so AWS-managed policies can be attached).
    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        let server = moto_server();
        let started = Instant::now();
        let mut child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", server.display()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (port_sender, port_receiver) = mpsc::channel();
        // Werkzeug logs every request to stderr: keep draining it, or the server blocks once
        // the pipe fills.
        thread::spawn(move || {
            let mut port_sender = Some(port_sender);
            let mut early_lines = Vec::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(sender) = &port_sender {
                    if let Some(port) = running_port(&line) {
                        let _ = sender.send(Ok(port));
                        port_sender = None;
                    } else {
                        early_lines.push(line);
                    }
                }
            }
            if let Some(sender) = port_sender {
                let _ = sender.send(Err(early_lines.join("\n")));
            }
        });
        let port = match port_receiver.recv_timeout(START_TIMEOUT) {
            Ok(Ok(port)) => port,
            Ok(Err(output)) => {
                let _ = child.kill();
                panic!("moto_server exited before listening:\n{output}");
            }
            Err(_) => {
                let _ = child.kill();
                panic!("moto_server did not start within {START_TIMEOUT:?}");
            }
        };
        let mut moto = Moto {
            child,
            port,
            started_in: Duration::ZERO,
        };
        moto.wait_ready(started);
        moto.started_in = started.elapsed();
        moto
    }

    /// A server holding `account` (moto's `MOTO_ACCOUNT_ID`), with AWS-managed policies loaded
    /// and an EKS cluster `cluster` in `region` (its DescribeCluster gives an OIDC issuer).
    /// For driving the binary, which reaches moto only through `AWS_ENDPOINT_URL`.
    ///
    /// moto's own default account (`123456789012`) is not pinned: `MOTO_ACCOUNT_ID` puts every
    /// request in one account, while without it credentials from `sts:AssumeRole` into another
    /// account act in that account (what several-account runs need).
    pub fn with_eks_cluster(account: &str, cluster: &str, region: &str) -> Moto {
        let mut env = vec![("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")];
        if account != MOTO_DEFAULT_ACCOUNT {
            env.push(("MOTO_ACCOUNT_ID", account));
        }
        let moto = Moto::start_with_env(&env);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(moto.create_eks_cluster(account, cluster, region));
        moto
    }

    /// Creates EKS cluster `cluster` in `region` on this server.
    pub async fn create_eks_cluster(&self, account: &str, cluster: &str, region: &str) {
        let config = self
            .sdk_config()
            .to_builder()
            .region(Region::new(region.to_string()))
            .build();
        aws_sdk_eks::Client::new(&config)
            .create_cluster()
            .name(cluster)
            .role_arn(format!("arn:aws:iam::{account}:role/eks-cluster"))
            .resources_vpc_config(
                aws_sdk_eks::types::VpcConfigRequest::builder()
                    .subnet_ids("subnet-1")
                    .build(),
            )
            .send()
            .await
            .expect("moto creates the EKS cluster");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`, for a proxy in front of the server.
    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// SDK configuration aimed at this server: explicit endpoint, dummy credentials, the ring
    /// HTTPS client accessctl uses in production.
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::from_static("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(SharedCredentialsProvider::new(dummy_credentials()))
            .http_client(http_client())
            .build()
    }

    /// accessctl's clients, aimed at this server.
    pub fn clients(&self) -> Clients {
        Clients::new(&self.sdk_config())
    }

    /// Wipes every account's state on this server.
    pub fn reset(&self) {
        let status = self.post("/moto-api/reset");
        assert_eq!(status, 200, "POST /moto-api/reset answered {status}");
    }

    fn wait_ready(&self, started: Instant) {
        while started.elapsed() < START_TIMEOUT {
            if self.try_request("GET", "/moto-api/data.json").is_ok() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("moto_server on port {} never answered", self.port);
    }

    fn post(&self, path: &str) -> u16 {
        self.try_request("POST", path)
            .unwrap_or_else(|error| panic!("POST {path} to moto: {error}"))
    }

    /// One HTTP/1.1 request on a fresh connection; the status code.
    fn try_request(&self, method: &str, path: &str) -> std::io::Result<u16> {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        response
            .split_whitespace()
            .nth(1)
            .and_then(|status| status.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {response:.80}")))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn dummy_credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "moto")
}

/// `.venv/bin/moto_server`, installed by `scripts/moto-venv` when missing.
fn moto_server() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let installed = root.join(".venv/bin/moto_server");
    if installed.is_file() {
        return installed;
    }
    let output = Command::new("bash")
        .arg(root.join("scripts/moto-venv"))
        .stdin(Stdio::null())
        .output()
        .expect("scripts/moto-venv runs");
    assert!(
        output.status.success(),
        "scripts/moto-venv failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// ` * Running on http://127.0.0.1:40123` → 40123.
fn running_port(line: &str) -> Option<u16> {
    let (_, address) = line.split_once("Running on http://127.0.0.1:")?;
    address
        .trim()
        .trim_end_matches('/')
        .split(|character: char| !character.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[test]
fn running_line_gives_the_port() {
    assert_eq!(
        running_port(" * Running on http://127.0.0.1:40123"),
        Some(40123)
    );
    assert_eq!(
        running_port(" * Running on http://127.0.0.1:5000/"),
        Some(5000)
    );
    assert_eq!(running_port("Press CTRL+C to quit"), None);
}
