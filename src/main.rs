fn main() -> std::process::ExitCode {
    nokv::cli::main()
}
