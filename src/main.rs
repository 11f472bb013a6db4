fn main() {
    std::process::exit(accessctl::cli::run());
}
