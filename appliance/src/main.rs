fn main() -> std::process::ExitCode {
    copi::cli::main()
}
