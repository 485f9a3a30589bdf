//! Hub benchmark, run on demand (`make bench`): prints figures, asserts nothing.
//!
//! 50 users on one real `wrangler dev`, the built-in analyst answering. Every user asks one question on
//! their first tab, all 50 at once, first with one tab each, then with four (200 sockets). Measured at the
//! tabs: from sending the question to the first answer text on the asking tab, and how much later the
//! 4th tab gets that same event. Memory: the resident size of the runtime (workerd) before and after 50
//! new users open one socket each (a hub and its first socket), then after they open three more each (the
//! cost of a socket). Locally every object shares one runtime thread, so the 50
//! users' answers queue behind each other here; in production each hub runs on its own.
//!
//! The worker must be built first (`make worker`).

use std::time::{Duration, Instant};

use datasage_shared::api::StreamEvent;
use datasage_shared::hub::Incoming;
use datasage_tests::client::{fresh_user, token_for, Api};
use datasage_tests::percentile;
use datasage_tests::runtime::rss_kb;
use datasage_tests::socket::Tab;
use datasage_tests::wrangler::{WorkerInstance, TEST_JWT_SECRET};

const USERS: usize = 50;
const TABS: usize = 4;
const QUESTION: &str = "How many rows are there?";
const WAIT: Duration = Duration::from_secs(60);

/// When the first answer text in conversation `session` reached this tab (frames of earlier rounds still
/// queued are passed over).
async fn first_text(tab: &mut Tab, session: &str) -> Option<Instant> {
    while let Some(frame) = tab.next(WAIT).await {
        if matches!(frame, Incoming::Stream(f) if f.session_id == session
            && matches!(f.event, StreamEvent::Content { .. }))
        {
            return Some(Instant::now());
        }
    }
    None
}

/// One user's question on their first tab: (ms to first text there, ms later on the last tab).
async fn ask(tabs: &mut [Tab]) -> Option<(f64, f64)> {
    let session = fresh_user("bench-hub-session");
    let sent = Instant::now();
    tabs[0].ask(&fresh_user("r"), QUESTION, &session).await;
    let firsts = futures::future::join_all(tabs.iter_mut().map(|t| first_text(t, &session))).await;
    let asker = (*firsts.first()?)?;
    let last = (*firsts.last()?)?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Some((ms(asker - sent), ms(last.saturating_duration_since(asker))))
}

/// `USERS` new users, each with one socket open.
async fn open(api: &Api) -> Vec<(String, Vec<Tab>)> {
    let users = (0..USERS).map(|_| async {
        let token = token_for(&fresh_user("bench-hub"));
        let tab = api.tab(&token).await;
        (token, vec![tab])
    });
    futures::future::join_all(users).await
}

/// Opens more sockets for each user, up to `tabs`.
async fn widen(api: &Api, users: &mut [(String, Vec<Tab>)], tabs: usize) {
    for (token, open) in users.iter_mut() {
        while open.len() < tabs {
            open.push(api.tab(token).await);
        }
    }
}

/// Every user asks at once; the asking tabs' and the last tabs' figures, sorted.
async fn round(users: &mut [(String, Vec<Tab>)]) -> (Vec<f64>, Vec<f64>) {
    let results = futures::future::join_all(users.iter_mut().map(|(_, tabs)| ask(tabs))).await;
    let (mut asker, mut added): (Vec<f64>, Vec<f64>) = results.into_iter().flatten().unzip();
    asker.sort_by(f64::total_cmp);
    added.sort_by(f64::total_cmp);
    (asker, added)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Runtime::new()?;
    let worker = WorkerInstance::start(
        "bench-hub",
        &[
            ("JWT_SECRET", TEST_JWT_SECRET),
            ("DEV_AUTH", "false"),
            ("RATE_LIMIT_PER_MINUTE", "100000"),
            ("OPENROUTER_API_KEY", ""),
            ("ANTHROPIC_API_KEY", ""),
            ("OPENAI_API_KEY", ""),
        ],
    )?;
    let ours = worker.runtime_pids();
    rt.block_on(async {
        let api = Api::new(&worker.base_url);
        // Warms the isolate and the code paths (the first rounds on a fresh runtime are slower).
        let mut warm = open(&api).await;
        for _ in 0..3 {
            round(&mut warm).await;
        }
        drop(warm);
        let settle = || tokio::time::sleep(Duration::from_secs(2));
        settle().await;
        let before = rss_kb(&ours);
        let mut users = open(&api).await;
        settle().await;
        let with_hubs = rss_kb(&ours);
        println!("{USERS} users asking at once, ms (p50 / p95):");
        println!(
            "{:<30} {:>18} {:>26}",
            "", "first text, asker", "4th tab later than asker"
        );
        let (asker, _) = round(&mut users).await;
        let one = percentile(&asker, 0.5);
        println!(
            "{:<30} {:>8.0} / {:>7.0} {:>26}",
            "1 tab each",
            one,
            percentile(&asker, 0.95),
            "-"
        );
        settle().await;
        let asked = rss_kb(&ours);
        widen(&api, &mut users, TABS).await;
        settle().await;
        let with_tabs = rss_kb(&ours);
        let (asker, added) = round(&mut users).await;
        println!(
            "{:<30} {:>8.0} / {:>7.0} {:>15.1} / {:>7.1}   ({:.2}× the 1-tab p50)",
            format!("{TABS} tabs each ({} sockets)", USERS * TABS),
            percentile(&asker, 0.5),
            percentile(&asker, 0.95),
            percentile(&added, 0.5),
            percentile(&added, 0.95),
            percentile(&asker, 0.5) / one
        );
        let kb = |a: u64, b: u64, n: usize| b.saturating_sub(a) as f64 / n as f64;
        println!(
            "workerd resident memory: {:.1} MB; a new user's hub with its first socket {:.0} KB; each \
             further socket {:.1} KB ({} of them)",
            with_tabs as f64 / 1024.0,
            kb(before, with_hubs, USERS),
            kb(asked, with_tabs, USERS * (TABS - 1)),
            USERS * (TABS - 1)
        );
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}
