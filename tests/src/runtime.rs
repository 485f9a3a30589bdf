//! The memory of a `wrangler dev` instance's runtime, for the benchmarks: the resident size of its workerd
//! processes (found by the instance's process group), now or at its peak over a stretch of time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The workerd processes in process group `pgid`.
pub fn workerd_pids(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            comm.trim() == "workerd" && process_group(*pid) == Some(pgid)
        })
        .collect()
}

/// Field 5 of `/proc/<pid>/stat`, after the command name (which may hold spaces, so read past its `)`).
fn process_group(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    after_name.split_whitespace().nth(2)?.parse().ok()
}

/// Resident memory of these processes, in KB.
pub fn rss_kb(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum()
}

/// Samples the resident memory of `pids` every 20 ms until stopped; [`PeakRss::stop`] gives the highest.
pub struct PeakRss {
    running: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl PeakRss {
    pub fn start(pids: Vec<u32>) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let peak = Arc::new(AtomicU64::new(rss_kb(&pids)));
        let (r, p) = (running.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while r.load(Ordering::Relaxed) {
                p.fetch_max(rss_kb(&pids), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self {
            running,
            peak,
            thread: Some(thread),
        }
    }

    /// The peak, in KB.
    pub fn stop(mut self) -> u64 {
        self.running.store(false, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}
