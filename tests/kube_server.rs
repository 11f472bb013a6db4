//! The in-memory API server of `tests/support/kube_server`, driven by the real kube-rs client
//! configured from the generated kubeconfig only.
