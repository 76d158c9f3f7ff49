//! What the admin's status page shows of the machine: disk use of the data dir, CPU
//! temperature and the Pi firmware's throttling flags, uptime, load, memory, network
//! interfaces and the uplink, and how many phones are on the hub's Wi-Fi (from hostapd's
//! control socket when it is there).
//!
//! Everything is read from files under a root (`/` on the Pi), so that tests and other
//! machines use a simulated tree; what is missing is reported as absent, never guessed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct SystemInfo {
    pub disk: Option<Disk>,
    pub cpu_temperature_celsius: Option<f64>,
    pub throttling: Option<Throttling>,
    pub uptime_seconds: Option<u64>,
    pub load_average: Option<[f64; 3]>,
    pub memory: Option<Memory>,
    pub interfaces: Vec<Interface>,
    /// The interface of the default route: the hub can reach a main instance through it.
    pub uplink: Option<String>,
    /// Stations associated with the access point (hostapd), when its socket is there.
    pub wifi_clients: Option<usize>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Disk {
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub used_percent: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Memory {
    pub total_kib: u64,
    pub available_kib: u64,
}

/// The Pi firmware's `get_throttled` flags.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Throttling {
    pub raw: u32,
    pub under_voltage_now: bool,
    pub frequency_capped_now: bool,
    pub throttled_now: bool,
    pub soft_temperature_limit_now: bool,
    pub under_voltage_since_boot: bool,
    pub frequency_capped_since_boot: bool,
    pub throttled_since_boot: bool,
    pub soft_temperature_limit_since_boot: bool,
}

impl Throttling {
    pub fn from_raw(raw: u32) -> Throttling {
        let bit = |n: u32| raw & (1 << n) != 0;
        Throttling {
            raw,
            under_voltage_now: bit(0),
            frequency_capped_now: bit(1),
            throttled_now: bit(2),
            soft_temperature_limit_now: bit(3),
            under_voltage_since_boot: bit(16),
            frequency_capped_since_boot: bit(17),
            throttled_since_boot: bit(18),
            soft_temperature_limit_since_boot: bit(19),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Interface {
    pub name: String,
    /// `up`, `down`, `dormant`…, as the kernel says.
    pub state: String,
    pub carrier: Option<bool>,
}

/// The hub process's own memory, from `/proc/self/status`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct ProcessMemory {
    /// Resident now (`VmRSS`).
    pub rss_bytes: u64,
    /// The most it was resident since it started (`VmHWM`).
    pub peak_rss_bytes: u64,
}

/// This process's resident memory, or `None` where `/proc` does not tell.
pub fn process_memory() -> Option<ProcessMemory> {
    parse_process_status(&std::fs::read_to_string("/proc/self/status").ok()?)
}

fn parse_process_status(text: &str) -> Option<ProcessMemory> {
    let kib = |name: &str| {
        let line = text.lines().find(|l| l.starts_with(name))?;
        line[name.len()..].split_whitespace().next()?.parse::<u64>().ok()
    };
    Some(ProcessMemory {
        rss_bytes: kib("VmRSS:")? * 1024,
        peak_rss_bytes: kib("VmHWM:")? * 1024,
    })
}

/// Where the facts are read from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// `/` on a real machine; a directory shaped like it in tests.
    pub root: PathBuf,
    /// hostapd's control socket for the access point's interface.
    pub hostapd_socket: PathBuf,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            root: PathBuf::from("/"),
            hostapd_socket: PathBuf::from("/var/run/hostapd/wlan0"),
        }
    }
}

impl Sources {
    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(path.trim_start_matches('/'))).ok()
    }

    /// Reads everything it can; `data_dir` is measured for disk use.
    pub fn collect(&self, data_dir: &Path) -> SystemInfo {
        SystemInfo {
            disk: disk(data_dir),
            cpu_temperature_celsius: self
                .read("/sys/class/thermal/thermal_zone0/temp")
                .and_then(|t| t.trim().parse::<f64>().ok())
                .map(|milli| (milli / 100.0).round() / 10.0),
            throttling: self
                .read("/sys/devices/platform/soc/soc:firmware/get_throttled")
                .and_then(|t| u32::from_str_radix(t.trim().trim_start_matches("0x"), 16).ok())
                .map(Throttling::from_raw),
            uptime_seconds: self
                .read("/proc/uptime")
                .and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok())
                .map(|s| s as u64),
            load_average: self.read("/proc/loadavg").and_then(|l| {
                let mut it = l.split_whitespace().map(|x| x.parse::<f64>().ok());
                Some([it.next()??, it.next()??, it.next()??])
            }),
            memory: self.read("/proc/meminfo").and_then(|m| {
                let field = |name: &str| {
                    m.lines()
                        .find(|l| l.starts_with(name))?
                        .split_whitespace()
                        .nth(1)?
                        .parse::<u64>()
                        .ok()
                };
                Some(Memory {
                    total_kib: field("MemTotal:")?,
                    available_kib: field("MemAvailable:")?,
                })
            }),
            interfaces: self.interfaces(),
            uplink: self.read("/proc/net/route").and_then(|r| default_route(&r)),
            wifi_clients: count_stations(&self.hostapd_socket),
        }
    }

    fn interfaces(&self) -> Vec<Interface> {
        let dir = self.root.join("sys/class/net");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut out: Vec<Interface> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                if name == "lo" {
                    return None;
                }
                let read = |f: &str| std::fs::read_to_string(dir.join(&name).join(f)).ok();
                Some(Interface {
                    state: read("operstate")
                        .map(|s| s.trim().to_owned())
                        .unwrap_or_else(|| "unknown".into()),
                    carrier: read("carrier").map(|c| c.trim() == "1"),
                    name,
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

fn disk(path: &Path) -> Option<Disk> {
    let s = rustix::fs::statvfs(path).ok()?;
    let block = s.f_frsize as u64;
    let total = s.f_blocks.saturating_mul(block);
    let available = s.f_bavail.saturating_mul(block);
    let free = s.f_bfree.saturating_mul(block);
    let used = total.saturating_sub(free);
    let used_percent = if total == 0 {
        0.0
    } else {
        ((used as f64 / total as f64) * 1000.0).round() / 10.0
    };
    Some(Disk {
        total_bytes: total,
        available_bytes: available,
        used_percent,
    })
}

/// The interface of the default route in `/proc/net/route`.
fn default_route(table: &str) -> Option<String> {
    table.lines().skip(1).find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        (cols.len() > 2 && cols[1] == "00000000").then(|| cols[0].to_owned())
    })
}

/// Counts stations through hostapd's control interface (`STA-FIRST`, `STA-NEXT <mac>`).
fn count_stations(socket: &Path) -> Option<usize> {
    use std::os::unix::net::UnixDatagram;
    if !socket.exists() {
        return None;
    }
    let local = std::env::temp_dir().join(format!("copi-hostapd-{}-{}", std::process::id(), fastrand::u32(..)));
    let sock = UnixDatagram::bind(&local).ok()?;
    let result = (|| {
        sock.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
        sock.connect(socket).ok()?;
        let mut buf = vec![0u8; 4096];
        let mut ask = |cmd: &str| -> Option<String> {
            sock.send(cmd.as_bytes()).ok()?;
            let n = sock.recv(&mut buf).ok()?;
            Some(String::from_utf8_lossy(&buf[..n]).into_owned())
        };
        let mut count = 0;
        let mut reply = ask("STA-FIRST")?;
        while let Some(mac) = reply
            .lines()
            .next()
            .filter(|l| l.len() == 17 && l.matches(':').count() == 5)
        {
            count += 1;
            if count > 4096 {
                break;
            }
            reply = ask(&format!("STA-NEXT {mac}"))?;
        }
        Some(count)
    })();
    let _ = std::fs::remove_file(&local);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_memory_is_read_from_its_status() {
        let status = "Name:\tcopi\nVmPeak:\t  812345 kB\nVmHWM:\t   34100 kB\nVmRSS:\t   17408 kB\nThreads:\t9\n";
        let m = parse_process_status(status).unwrap();
        assert_eq!((m.rss_bytes, m.peak_rss_bytes), (17408 * 1024, 34100 * 1024));
        assert_eq!(parse_process_status("Name:\tcopi\n"), None);
        // This very process has some.
        assert!(process_memory().unwrap().rss_bytes > 0);
    }

    fn write(root: &Path, path: &str, text: &str) {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn reads_a_pi_shaped_tree() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        write(r, "sys/class/thermal/thermal_zone0/temp", "52612\n");
        write(r, "sys/devices/platform/soc/soc:firmware/get_throttled", "0x50005\n");
        write(r, "proc/uptime", "3725.41 7000.00\n");
        write(r, "proc/loadavg", "0.52 0.41 0.30 1/123 4567\n");
        write(
            r,
            "proc/meminfo",
            "MemTotal:         427000 kB\nMemFree:  10000 kB\nMemAvailable:     301000 kB\n",
        );
        write(r, "sys/class/net/wlan0/operstate", "up\n");
        write(r, "sys/class/net/wlan0/carrier", "1\n");
        write(r, "sys/class/net/eth0/operstate", "down\n");
        write(r, "sys/class/net/eth0/carrier", "0\n");
        write(r, "sys/class/net/lo/operstate", "unknown\n");
        write(
            r,
            "proc/net/route",
            "Iface\tDestination\tGateway\tFlags\nwlan0\t00002A0A\t00000000\t0001\neth0\t00000000\t0101A8C0\t0003\n",
        );
        let sources = Sources {
            root: r.to_owned(),
            hostapd_socket: r.join("no-hostapd"),
        };
        let info = sources.collect(r);
        assert_eq!(info.cpu_temperature_celsius, Some(52.6));
        let t = info.throttling.unwrap();
        assert!(t.under_voltage_now && t.throttled_now && t.under_voltage_since_boot && t.throttled_since_boot);
        assert!(!t.frequency_capped_now && !t.soft_temperature_limit_since_boot);
        assert_eq!(info.uptime_seconds, Some(3725));
        assert_eq!(info.load_average, Some([0.52, 0.41, 0.30]));
        assert_eq!(
            info.memory,
            Some(Memory {
                total_kib: 427000,
                available_kib: 301000
            })
        );
        assert_eq!(
            info.interfaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["eth0", "wlan0"]
        );
        assert_eq!(info.interfaces[1].carrier, Some(true));
        assert_eq!(info.uplink.as_deref(), Some("eth0"));
        assert_eq!(info.wifi_clients, None);
        assert!(info.disk.unwrap().total_bytes > 0);
    }

    #[test]
    fn an_empty_tree_reports_nothing_it_does_not_know() {
        let root = tempfile::tempdir().unwrap();
        let sources = Sources {
            root: root.path().to_owned(),
            hostapd_socket: root.path().join("x"),
        };
        let info = sources.collect(root.path());
        assert_eq!(info.cpu_temperature_celsius, None);
        assert_eq!(info.throttling, None);
        assert_eq!(info.uplink, None);
        assert!(info.interfaces.is_empty());
    }

    #[test]
    fn counts_stations_through_a_hostapd_socket() {
        use std::os::unix::net::UnixDatagram;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wlan0");
        let server = UnixDatagram::bind(&path).unwrap();
        let stations = ["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02", "aa:bb:cc:00:00:03"];
        let fake = std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            for _ in 0..=stations.len() {
                let (n, from) = server.recv_from(&mut buf).unwrap();
                let cmd = String::from_utf8_lossy(&buf[..n]).into_owned();
                let next = if cmd == "STA-FIRST" {
                    Some(stations[0])
                } else {
                    let mac = cmd.trim_start_matches("STA-NEXT ");
                    stations
                        .iter()
                        .position(|s| *s == mac)
                        .and_then(|i| stations.get(i + 1).copied())
                };
                let reply = next.map(|m| format!("{m}\nflags=[AUTH][ASSOC]\n")).unwrap_or_default();
                server.send_to(reply.as_bytes(), from.as_pathname().unwrap()).unwrap();
            }
        });
        assert_eq!(count_stations(&path), Some(3));
        fake.join().unwrap();
    }

    #[test]
    fn throttling_bits() {
        assert_eq!(Throttling::from_raw(0), Throttling::from_raw(0));
        let t = Throttling::from_raw(0x80008);
        assert!(t.soft_temperature_limit_now && t.soft_temperature_limit_since_boot && !t.throttled_now);
    }
}
