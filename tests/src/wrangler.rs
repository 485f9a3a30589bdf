//! Starts real `wrangler dev` instances (workerd with local D1 and Durable Objects) for tests.
//!
//! Each instance gets its own port, inspector port and state directory (migrations applied fresh), runs in
//! its own process group, and is stopped with that group when dropped. The worker must already be built
//! (`make worker`); `DATASAGE_PREBUILT=1` stops wrangler's build command from rebuilding it per instance.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::repo_root;

/// The JWT secret every test instance uses, so tests can mint (and forge) their own tokens.
pub const TEST_JWT_SECRET: &str = "datasage-test-secret-not-for-production";

/// Where an instance's local D1 database lives in its state directory.
const D1_DIR: &str = "v3/d1/miniflare-D1DatabaseObject";

pub struct WorkerInstance {
    pub base_url: String,
    child: Child,
    pub log_path: PathBuf,
    /// The local D1 and Durable Object state.
    state: PathBuf,
    name: String,
    vars: Vec<(String, String)>,
    /// Another worker's wrangler config (`-c`), instead of DataSage's `wrangler.toml`.
    config: Option<String>,
}

/// A port free now and never handed out before by this process: instances started side by side must
/// not be given the same one (the OS may offer a just-released port again).
fn free_port() -> io::Result<u16> {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut given = GIVEN.lock().map_err(|_| io::Error::other("port list poisoned"))?;
        if !given.contains(&port) {
            given.push(port);
            return Ok(port);
        }
    }
}

fn wrangler(args: &[&str]) -> Command {
    let root = repo_root();
    let bin = root.join("node_modules/.bin");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new(bin.join("wrangler"));
    cmd.args(args)
        .current_dir(&root)
        .env("PATH", path)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("DATASAGE_PREBUILT", "1")
        // wrangler's local trace collector (a dev-time viewer the tests never read, which the platform
        // does not run in a request's path) streams every span of every request to a store of its own.
        .env("X_LOCAL_OBSERVABILITY", "false")
        .env("NO_COLOR", "1");
    cmd
}

impl WorkerInstance {
    /// Starts an instance named `name` with `vars` overriding `wrangler.toml` (and any local `.dev.vars`).
    pub fn start(name: &str, vars: &[(&str, &str)]) -> io::Result<Self> {
        Self::start_seeded(name, vars, |_| Ok(()))
    }

    /// Like [`start`](Self::start), with `seed` given the local D1 database's file once migrations made
    /// it and before the runtime opens it: rows a test needs by the thousand, written as D1 stores them.
    pub fn start_seeded(
        name: &str,
        vars: &[(&str, &str)],
        seed: impl FnOnce(&std::path::Path) -> io::Result<()>,
    ) -> io::Result<Self> {
        let root = repo_root();
        let state = root.join(".wrangler/test-state").join(name);
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(&state)?;
        let state_arg = state.display().to_string();
        let out = wrangler(&[
            "d1",
            "migrations",
            "apply",
            "DB",
            "--local",
            "--persist-to",
            &state_arg,
        ])
        .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "migrations failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let d1 = crate::storage::sqlite_files(&state.join(D1_DIR));
        match d1.as_slice() {
            [file] => seed(file)?,
            _ => {
                return Err(io::Error::other(format!(
                    "expected one D1 file after migrating, found {d1:?}"
                )))
            }
        }
        Self::launch(name, state, owned(vars), None)
    }

    /// Starts the worker of another wrangler config (the bare platform of `benches/bare/`, say), which has
    /// no D1 to migrate.
    pub fn start_config(name: &str, config: &str, vars: &[(&str, &str)]) -> io::Result<Self> {
        let state = repo_root().join(".wrangler/test-state").join(name);
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(&state)?;
        Self::launch(name, state, owned(vars), Some(config.to_owned()))
    }

    /// The instance's runtime processes (workerd), for its memory.
    pub fn runtime_pids(&self) -> Vec<u32> {
        crate::runtime::workerd_pids(self.child.id())
    }

    /// The SQLite files of every object of the Durable Object class `class` (e.g. `DatasetStore`).
    pub fn object_files(&self, class: &str) -> Vec<PathBuf> {
        crate::storage::sqlite_files(&self.state.join(format!("v3/do/datasage-{class}")))
    }

    /// The SQLite files of the local D1 database.
    pub fn d1_files(&self) -> Vec<PathBuf> {
        crate::storage::sqlite_files(&self.state.join(D1_DIR))
    }

    /// Stops this instance and starts it again on the same state (local D1 and Durable Objects), as a
    /// deploy or a crash would: what was persisted must still be there.
    pub fn restart(self) -> io::Result<Self> {
        let (name, state, vars) = (self.name.clone(), self.state.clone(), self.vars.clone());
        let config = self.config.clone();
        drop(self);
        Self::launch(&name, state, vars, config)
    }

    /// Starts `wrangler dev`; when another process took its port in the meantime, again on new ports.
    fn launch(
        name: &str,
        state: PathBuf,
        vars: Vec<(String, String)>,
        config: Option<String>,
    ) -> io::Result<Self> {
        let mut tries = 0;
        loop {
            match Self::launch_once(name, state.clone(), vars.clone(), config.clone()) {
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && tries < 3 => tries += 1,
                result => return result,
            }
        }
    }

    fn launch_once(
        name: &str,
        state: PathBuf,
        vars: Vec<(String, String)>,
        config: Option<String>,
    ) -> io::Result<Self> {
        let root = repo_root();
        let state_arg = state.display().to_string();
        let port = free_port()?.to_string();
        let inspector = free_port()?.to_string();
        let mut args = vec![
            "dev",
            "--ip",
            "127.0.0.1",
            "--port",
            &port,
            "--inspector-port",
            &inspector,
            "--persist-to",
            &state_arg,
            "--show-interactive-dev-session=false",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
        for (k, v) in &vars {
            args.push("--var".into());
            args.push(format!("{k}:{v}"));
        }
        if let Some(config) = &config {
            args.extend(["-c".to_owned(), config.clone()]);
        }
        let log_path = root.join(format!(".wrangler/test-state/{name}.log"));
        let log = std::fs::File::create(&log_path)?;
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = wrangler(&arg_refs)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()?;
        let instance = WorkerInstance {
            base_url: format!("http://127.0.0.1:{port}"),
            child,
            log_path,
            state,
            name: name.to_owned(),
            vars,
            config,
        };
        instance.wait_ready(Duration::from_secs(120))?;
        Ok(instance)
    }

    /// Waits until this instance answers `/health` — its own log saying it is ready on its port, so a
    /// server another process started on that port does not count.
    fn wait_ready(&self, timeout: Duration) -> io::Result<()> {
        let started = Instant::now();
        let addr = self.base_url.trim_start_matches("http://").to_owned();
        let ready = format!("Ready on {}", self.base_url);
        while started.elapsed() < timeout {
            let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
            if log.contains("Address already in use") {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{addr} was taken"),
                ));
            }
            if !log.contains(&ready) {
                std::thread::sleep(Duration::from_millis(250));
                continue;
            }
            if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
                use std::io::{Read, Write};
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let req = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
                let mut buf = String::new();
                if s.write_all(req.as_bytes()).is_ok()
                    && s.read_to_string(&mut buf).is_ok()
                    && buf.starts_with("HTTP/1.1 200")
                {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        Err(io::Error::other(format!(
            "wrangler dev did not become ready in {timeout:?}; log:\n{log}"
        )))
    }
}

fn owned(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Drop for WorkerInstance {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        // SAFETY: signalling a process group we created; no memory is involved.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // SAFETY: as above; whatever survived SIGTERM in our group is stopped.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}
