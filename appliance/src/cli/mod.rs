//! The `copi` command line: `main() → run() → Result`, errors mapped to exit codes.

use std::io::{IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::bundle::{self, Bundle};
use crate::config::{Config, Overrides};
use crate::error::{Error, Result};
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "copi",
    version,
    about = "CoPi: an offline Communecter community hub",
    propagate_version = true
)]
struct Cli {
    /// Data directory (database, index, uploads) [env: COPI_DATA] [default: ./copi-data]
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Configuration file (TOML)
    #[arg(long, global = true, value_name = "FILE", env = "COPI_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the hub's web server
    Serve {
        /// Address to listen on [env: COPI_BIND] [default: 127.0.0.1:8000]
        #[arg(long, value_name = "ADDR")]
        bind: Option<SocketAddr>,
        /// Fill an empty data dir with a demo territory before serving
        #[arg(long)]
        demo: bool,
        /// `main` also serves the sync endpoints that hubs sync with
        #[arg(long, value_enum, default_value_t = Role::Hub)]
        role: Role,
    },
    /// Run sync rounds with the main instance configured in [sync]
    Sync {
        /// Run one round and exit
        #[arg(long)]
        once: bool,
        /// Changes per batch (tests)
        #[arg(long, hide = true, default_value_t = copi_sync::protocol::DEFAULT_BATCH)]
        batch_size: usize,
    },
    /// Import a JSON bundle (CoPi export or Communecter-shaped documents), all or nothing
    Import {
        /// The bundle to import
        file: PathBuf,
    },
    /// Export the hub's data as a JSON bundle
    Export {
        /// Write to this file instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Rebuild the search index from the store
    Reindex,
    /// Verify store integrity and index consistency, repair what can be repaired
    Check {
        /// Only report, change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Write one archive of the hub (store snapshot, uploads, config file) for `copi restore`
    Backup {
        /// The archive to write (a gzipped tar)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Restore a `copi backup` archive into an empty or absent data dir
    Restore {
        /// The archive to restore
        file: PathBuf,
    },
    /// Write the system configs (hostapd, dnsmasq, network) rendered from the config file
    RenderConfig {
        /// Directory to write them into (created if missing)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Write a demo bundle (for benchmarks and tests)
    #[command(hide = true)]
    DemoBundle {
        #[arg(long, default_value_t = crate::demo::DemoSize::default().elements)]
        elements: usize,
        /// The day the demo is built around (YYYY-MM-DD) [default: today]
        #[arg(long)]
        today: Option<String>,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// What `copi serve` serves besides the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Role {
    Hub,
    Main,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("copi: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COPI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn run(cli: Cli) -> Result<()> {
    let bind = match &cli.command {
        Command::Serve { bind, .. } => *bind,
        _ => None,
    };
    let file = cli.config.as_deref().filter(|p| !p.as_os_str().is_empty());
    let overrides = Overrides {
        data: cli.data.clone(),
        bind,
    };
    // What brings the box up (serving, rendering its network) keeps the last working
    // config when the file on the boot partition is broken; other commands just refuse.
    let boots = matches!(cli.command, Command::Serve { .. } | Command::RenderConfig { .. });
    let (config, config_error) = if boots {
        let data = cli
            .data
            .clone()
            .or_else(|| {
                std::env::var_os("COPI_DATA")
                    .filter(|d| !d.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| Config::default().data);
        let loaded = Config::load_with_fallback(file, &overrides, &data.join(crate::config::LAST_GOOD_FILE))?;
        if let Some(e) = &loaded.file_error {
            tracing::error!("the config file cannot be used, the last working one stays in force: {e}");
        }
        (loaded.config, loaded.file_error.map(|e| e.to_string()))
    } else {
        (Config::load(file, &overrides)?, None)
    };
    match cli.command {
        Command::Serve { demo, role, .. } => serve(config, file, config_error, demo, role),
        Command::Sync { once, batch_size } => sync(&config, once, batch_size),
        Command::Import { file } => import(&config, &file),
        Command::Export { out } => export(&config, out.as_deref()),
        Command::Reindex => reindex(&config),
        Command::Check { dry_run } => check(&config, !dry_run),
        Command::Backup { out } => backup(&config, file, &out),
        Command::Restore { file: archive } => restore(&config, &archive),
        Command::RenderConfig { out } => render_config(&config, &out),
        Command::DemoBundle { elements, today, out } => demo_bundle(&config, elements, today.as_deref(), &out),
    }
}

fn open_store(config: &Config) -> Result<Store> {
    Ok(Store::open(&config.data)?.with_zone(config.time_zone()))
}

fn today(config: &Config) -> jiff::civil::Date {
    jiff::Timestamp::now().to_zoned_datetime(config.time_zone()).date()
}

fn sync(config: &Config, once: bool, batch: usize) -> Result<()> {
    let store = open_store(config)?;
    if !once {
        crate::syncer::run_forever(&store, config, batch);
    }
    let report = crate::syncer::run_once(&store, config, batch)?;
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| Error::Corrupt(e.to_string()))?
    );
    Ok(())
}

fn serve(config: Config, file: Option<&Path>, config_error: Option<String>, demo: bool, role: Role) -> Result<()> {
    let store = open_store(&config)?;
    if demo && store.is_empty()? {
        let value = crate::demo::generate(today(&config), &crate::demo::DemoSize::default());
        let bundle = Bundle::from_json(value, store.zone())?;
        let summary = bundle.write(&store, || {})?;
        tracing::info!(
            elements = summary.elements,
            records = summary.records,
            "demo territory written"
        );
    }
    // No admin password configured: a one-time code for the first-boot wizard. Failing to
    // write it leaves the hub serving visitors, without a way to set it up: say so loudly.
    if let Err(e) = crate::setup::prepare(&store, &config, file) {
        tracing::error!("{e}");
    }
    let (hub_name, _) = crate::setup::identity(&store, &config)?;
    drop(store);
    let bind = config.bind;
    // Announced over mDNS on the appliance (where a Wi-Fi access point is configured).
    let _announcer = config.wifi.as_ref().and_then(|_| {
        let announcement = crate::announce::Announcement {
            host: config.network.name.clone(),
            instance: hub_name,
            port: bind.port(),
            path: "/".into(),
        };
        crate::announce::Announcer::start(&announcement)
            .map_err(|e| tracing::warn!(error = %e, "not announced over mDNS"))
            .ok()
    });
    let mut hub = crate::api::Hub::open(config)?;
    hub.config_error = config_error;
    hub.config_file = file.map(Path::to_owned);
    let store_for_watchdog = hub.store.clone();
    crate::syncer::spawn(hub.store.clone(), &hub.config, hub.sync.clone());
    crate::mail::spawn(hub.store.clone(), &hub.config);
    let sync_on_button = hub.sync.clone();
    let power_off = crate::hardware::PowerOff::default();
    let power_off_on_button = power_off.clone();
    let runtime = rocket::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get().min(4)))
        // Store and index work runs on these; more threads than a few per core only add memory
        // (a malloc arena and buffers each) on a 512 MB Pi.
        .max_blocking_threads(4)
        .enable_all()
        .build()
        .map_err(Error::io("cannot start the async runtime"))?;
    runtime.block_on(async move {
        let rocket = crate::api::rocket(hub);
        let rocket = if role == Role::Main {
            rocket.attach(crate::api::sync::stage())
        } else {
            rocket
        };
        let rocket = rocket
            .attach(rocket::fairing::AdHoc::on_liftoff(
                "service manager and hardware",
                move |rocket| {
                    Box::pin(async move {
                        crate::watchdog::start(store_for_watchdog);
                        crate::hardware::start(rocket.shutdown(), power_off_on_button, sync_on_button);
                    })
                },
            ))
            .ignite()
            .await
            .map_err(|e| Error::Config(format!("cannot start the server: {e}")))?;
        tracing::info!(address = %bind, "CoPi is serving on http://{bind}");
        rocket
            .launch()
            .await
            .map_err(|e| Error::Config(format!("the server stopped: {e}")))?;
        Ok::<(), Error>(())
    })?;
    if power_off.requested() {
        power_off.power_off();
    }
    Ok(())
}

fn read_bundle_file(file: &Path) -> Result<serde_json::Value> {
    let f = std::fs::File::open(file).map_err(Error::io(format!("cannot open {}", file.display())))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > bundle::MAX_IMPORT_BYTES {
        return Err(Error::Import(format!(
            "{} is larger than {} bytes",
            file.display(),
            bundle::MAX_IMPORT_BYTES
        )));
    }
    let mut text = Vec::with_capacity(len as usize);
    f.take(bundle::MAX_IMPORT_BYTES)
        .read_to_end(&mut text)
        .map_err(Error::io(format!("cannot read {}", file.display())))?;
    serde_json::from_slice(&text).map_err(|e| Error::Import(format!("{} is not valid JSON: {e}", file.display())))
}

fn import(config: &Config, file: &Path) -> Result<()> {
    let value = read_bundle_file(file)?;
    let store = open_store(config)?;
    let bundle = Bundle::from_json(value, store.zone())?;
    let bar = progress_bar(bundle.len() as u64, "importing");
    let summary = bundle.write(&store, || bar.inc(1))?;
    bar.finish_and_clear();
    // Index now, so that the hub starts with its index current (indexing is the memory-
    // hungry part; a running hub holds the index and catches up by itself).
    match crate::search::SearchIndex::open_or_recreate(&config.data) {
        Ok(index) => {
            let spinner = progress_bar(0, "indexing");
            index.catch_up(&store)?;
            spinner.finish_and_clear();
        }
        Err(e @ Error::Conflict(_)) => eprintln!("not indexed here: {e}; the running hub indexes the import"),
        Err(e) => return Err(e),
    }
    println!(
        "imported {} elements and {} records from {}",
        summary.elements,
        summary.records,
        file.display()
    );
    Ok(())
}

fn export(config: &Config, out: Option<&Path>) -> Result<()> {
    let store = open_store(config)?;
    match out {
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            bundle::export(&store, &mut w)?;
            w.flush().map_err(Error::io("cannot write the export"))?;
        }
        Some(path) => {
            // Written beside the target and renamed, so a cut export never looks complete.
            let tmp = path.with_extension("partial");
            let file = std::fs::File::create(&tmp).map_err(Error::io(format!("cannot create {}", tmp.display())))?;
            let mut w = std::io::BufWriter::new(file);
            let summary = bundle::export(&store, &mut w)?;
            let file = w
                .into_inner()
                .map_err(|e| Error::io("cannot write the export")(e.into_error()))?;
            file.sync_all().map_err(Error::io("cannot write the export"))?;
            std::fs::rename(&tmp, path).map_err(Error::io(format!("cannot rename to {}", path.display())))?;
            eprintln!(
                "exported {} elements and {} records to {}",
                summary.elements,
                summary.records,
                path.display()
            );
        }
    }
    Ok(())
}

fn progress_bar(len: u64, message: &'static str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

fn reindex(config: &Config) -> Result<()> {
    let store = open_store(config)?;
    let total: u64 = store.count_elements(crate::store::Visibility::All)?.values().sum();
    let index = crate::search::SearchIndex::recreate(&config.data)?;
    let bar = progress_bar(total, "indexing");
    let n = index.rebuild(&store, |n| bar.set_position(n as u64))?;
    bar.finish_and_clear();
    println!("indexed {n} elements");
    Ok(())
}

/// The search index agrees with the store: it has applied the whole change log and holds
/// one document per element.
fn check_index(config: &Config, store: &Store, repair: bool, report: &mut crate::store::CheckReport) -> Result<()> {
    use copi_sync::ChangeFeed;
    let elements: u64 = store.count_elements(crate::store::Visibility::All)?.values().sum();
    let index = match crate::search::SearchIndex::open(&config.data) {
        Ok(index) => index,
        Err(e @ Error::Conflict(_)) => {
            println!("search index not checked: {e}");
            return Ok(());
        }
        Err(e) => {
            report.problems.push(format!("search index unusable: {e}"));
            if !repair {
                return Ok(());
            }
            let index = crate::search::SearchIndex::recreate(&config.data)?;
            index.rebuild(store, |_| {})?;
            report.repaired.push("search index rebuilt".into());
            return Ok(());
        }
    };
    let (indexed, last) = (index.indexed_seq(), store.last_seq()?);
    if indexed > last {
        report
            .problems
            .push(format!("search index is ahead of the store ({indexed} > {last})"));
        if repair {
            index.rebuild(store, |_| {})?;
            report.repaired.push("search index rebuilt".into());
        }
        return Ok(());
    }
    if indexed < last {
        report
            .problems
            .push(format!("search index lags the store ({indexed} < {last})"));
        if repair {
            let n = index.catch_up(store)?;
            report.repaired.push(format!("search index caught up ({n} changes)"));
        }
    }
    if (!repair || indexed == last) && index.doc_count() != elements {
        report.problems.push(format!(
            "search index holds {} documents for {elements} elements",
            index.doc_count()
        ));
        if repair {
            index.rebuild(store, |_| {})?;
            report.repaired.push("search index rebuilt".into());
        }
    }
    Ok(())
}

fn check(config: &Config, repair: bool) -> Result<()> {
    let store = open_store(config)?;
    let mut report = store.check(repair)?;
    check_index(config, &store, repair, &mut report)?;
    println!("checked {} elements and {} records", report.elements, report.records);
    for p in &report.problems {
        println!("problem: {p}");
    }
    for r in &report.repaired {
        println!("repaired: {r}");
    }
    let unrepaired = report.problems.len().saturating_sub(report.repaired.len());
    if unrepaired > 0 {
        return Err(Error::Corrupt(format!("{unrepaired} problem(s) remain")));
    }
    println!("ok");
    Ok(())
}

fn demo_bundle(config: &Config, elements: usize, day: Option<&str>, out: &Path) -> Result<()> {
    let day = match day {
        Some(d) => d
            .parse()
            .map_err(|_| Error::BadRequest(format!("--today {d:?} is not a date (YYYY-MM-DD)")))?,
        None => today(config),
    };
    let value = crate::demo::generate(day, &crate::demo::DemoSize { elements });
    let file = std::fs::File::create(out).map_err(Error::io(format!("cannot create {}", out.display())))?;
    let mut w = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut w, &value).map_err(|e| Error::Corrupt(e.to_string()))?;
    w.flush().map_err(Error::io("cannot write the bundle"))?;
    Ok(())
}

fn backup(config: &Config, config_file: Option<&Path>, out: &Path) -> Result<()> {
    let summary = crate::backup::create(&config.data, config_file, out)?;
    let m = &summary.manifest;
    println!(
        "backed up instance {} ({} elements, {} records, {} uploaded files, {}) to {} ({} bytes)",
        m.instance_id,
        m.store.elements,
        m.store.records,
        summary.uploads,
        match &m.config_source {
            Some(c) => format!("config file {c}"),
            None => "no config file".into(),
        },
        out.display(),
        summary.bytes
    );
    Ok(())
}

fn restore(config: &Config, archive: &Path) -> Result<()> {
    let mut bar: Option<indicatif::ProgressBar> = None;
    let summary = crate::backup::restore(archive, &config.data, |n, total| {
        bar.get_or_insert_with(|| progress_bar(total, "indexing"))
            .set_position(n as u64)
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let m = &summary.manifest;
    println!(
        "restored {} into {}: {} elements, {} records, {} uploaded files (backup of instance {} made {} by CoPi {})",
        archive.display(),
        config.data.display(),
        summary.elements,
        m.store.records,
        summary.uploads,
        m.instance_id,
        m.created,
        m.copi_version
    );
    println!(
        "instance id: {} (new; the backup's {} is kept as the previous id)",
        summary.instance.id,
        summary.instance.previous.as_deref().unwrap_or(&m.instance_id)
    );
    println!("indexed {} elements", summary.indexed);
    match &summary.config {
        Some(path) => println!(
            "config: the backup's config file{} was written to {}; move it to where this hub reads its config (--config, COPI_CONFIG or copi.toml on the boot partition)",
            m.config_source.as_deref().map(|s| format!(" (from {s})")).unwrap_or_default(),
            path.display()
        ),
        None => println!("config: the backup holds no config file"),
    }
    Ok(())
}

fn render_config(config: &Config, out: &Path) -> Result<()> {
    let files = crate::system::render(config)?;
    let written = crate::system::write(out, &files)?;
    for name in &written.changed {
        println!("wrote {}", out.join(name).display());
    }
    for name in &written.removed {
        println!("removed {}", out.join(name).display());
    }
    println!(
        "{} system files in {} ({} changed, {} removed)",
        files.len(),
        out.display(),
        written.changed.len(),
        written.removed.len()
    );
    Ok(())
}
