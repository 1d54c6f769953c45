fn main() -> std::process::ExitCode {
    apex::cli::main()
}
