//! `soak`: runs the soak load of `copi_e2e::soak` against a running hub and prints its report
//! as Markdown; exits 1 if the verdict fails, 2 if the run could not be made.
//!
//!   soak --base URL --token T --pid PID [--clients N] [--duration SECS] [--seed S]
//!        [--sample-every SECS]

use std::process::ExitCode;
use std::time::Duration;

use copi_e2e::soak::{self, Config};

const USAGE: &str = "usage: soak --base URL --token T --pid PID [--clients N (200)] [--duration SECS (600)] \
                     [--seed S (random)] [--sample-every SECS (5)]";

/// The arguments by hand: a handful of flags, each with a value (the test crate has no clap).
fn parse(args: &[String]) -> Result<Config, String> {
    let mut cfg = Config {
        base: String::new(),
        token: String::new(),
        pid: 0,
        clients: 200,
        duration: Duration::from_secs(600),
        seed: fastrand::u64(..),
        sample_every: Duration::from_secs(5),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag} {value}: not a whole number"))
        };
        match flag.as_str() {
            "--base" => cfg.base = value.trim_end_matches('/').to_owned(),
            "--token" => cfg.token = value.clone(),
            "--pid" => cfg.pid = u32::try_from(number()?).map_err(|_| format!("--pid {value}: too large"))?,
            "--clients" => cfg.clients = usize::try_from(number()?).map_err(|_| format!("--clients {value}"))?,
            "--duration" => cfg.duration = Duration::from_secs(number()?),
            "--seed" => cfg.seed = number()?,
            "--sample-every" => cfg.sample_every = Duration::from_secs(number()?),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if cfg.base.is_empty() || cfg.token.is_empty() || cfg.pid == 0 {
        return Err("--base, --token and --pid are required".into());
    }
    Ok(cfg)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let cfg = match parse(&args) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("soak: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "soak: {} clients for {} s against {} (server pid {}, seed {})",
        cfg.clients,
        cfg.duration.as_secs(),
        cfg.base,
        cfg.pid,
        cfg.seed
    );
    match soak::run(&cfg) {
        Ok(report) => {
            print!("{report}");
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::from(2)
        }
    }
}
