pub fn main() -> std::process::ExitCode {
    println!("copi {}", env!("CARGO_PKG_VERSION"));
    std::process::ExitCode::SUCCESS
}
