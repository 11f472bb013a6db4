mod cli;
mod kube_server;
mod support;
