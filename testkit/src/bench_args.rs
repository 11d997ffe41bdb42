//! The command line of a cargo bench (`harness = false`): `cargo bench` passes `--bench`; the
//! bench takes one count (`--runs N`, `--requests N`) and `--data-dir DIR`.

use std::path::PathBuf;

pub struct BenchArgs {
    pub count: usize,
    pub data_dir: PathBuf,
}

/// Parses `--<count_flag> N` (default `default`) and `--data-dir DIR` (default: the user's data
/// dir); a bad argument prints the usage of `bench` and exits with 2.
pub fn parse(bench: &str, count_flag: &str, default: usize) -> BenchArgs {
    let usage = |why: &str| -> ! {
        eprintln!("error: {why}\nusage: cargo bench --bench {bench} -- [{count_flag} N] [--data-dir DIR]");
        std::process::exit(2)
    };
    let mut parsed = BenchArgs { count: default, data_dir: code_evolver::paths::data_dir() };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {}
            "--data-dir" => match args.next() {
                Some(d) => parsed.data_dir = PathBuf::from(d),
                None => usage("--data-dir needs a folder"),
            },
            flag if flag == count_flag => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => parsed.count = n,
                None => usage(&format!("{count_flag} needs a number")),
            },
            other => usage(&format!("unknown argument `{other}`")),
        }
    }
    parsed
}
