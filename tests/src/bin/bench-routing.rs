//! Speed against the bare platform, run on demand (`make bench`): prints figures, asserts nothing.
//!
//! One mock provider and three `wrangler dev` instances of the same wrangler and workerd: DataSage, the
//! bare platform (`benches/bare/`: a few lines of JavaScript piping the provider's stream through) and the
//! floor (`benches/floor/`). At 1,
//! 10 and 50 concurrent streams, wave by wave in turn, five ways to the same answer:
//! - **direct**: straight from the mock;
//! - **bare**: through the bare platform;
//! - **floor**: through the floor (`benches/floor/`): the least a service of DataSage's shape does before
//!   it streams, in plain JavaScript — the asker's own Durable Object (one hop), a write to its SQLite,
//!   one D1 round trip — so what the runtime charges for the shape shows apart from what DataSage adds;
//! - **SSE**: DataSage's `/api/v1/chat/stream` (sign-in checked, rate limit, session and dataset looked
//!   up, provider health, every call logged to D1), for a returning user and for a new one (whose hub is
//!   created by the question);
//! - **WS**: the same over the user's socket to their hub (a new user's socket is opened, and their hub
//!   created, before the clock starts).
//!
//! *First word*: from sending to the first `response_text` text, each read with the same parser and
//! extractor. *Added*: a way's p50 (p99) minus direct's. Then 50 concurrent streams of a 500-token answer
//! at 100 tokens a second, from sending to the end, and the peak resident memory of each runtime meanwhile.
//!
//! The worker must be built first (`make worker`).

use std::time::{Duration, Instant};

use datasage_shared::api::StreamEvent;
use datasage_shared::extract::AnswerExtractor;
use datasage_shared::hub::Incoming;
use datasage_shared::llm::{LlmEvent, LlmRequest, Message, Role};
use datasage_shared::provider::openai::{request_body, OpenAiStream};
use datasage_shared::provider::StreamParser;
use datasage_tests::client::{fresh_user, token_for, Api};
use datasage_tests::mock_provider::MockProvider;
use datasage_tests::percentile;
use datasage_tests::runtime::{rss_kb, PeakRss};
use datasage_tests::socket::Tab;
use datasage_tests::wrangler::{WorkerInstance, TEST_JWT_SECRET};
use futures::future::join_all;
use futures::StreamExt;

const LEVELS: &[usize] = &[1, 10, 50];
/// Waves per level: at least six, and at least 30 samples of each way (at 1 stream six waves gave six
/// samples, a p50 that moved by several ms from run to run and a p99 that was the slowest one).
const WAVES: usize = 6;
const SAMPLES: usize = 30;
const QUESTION: &str = "How many rows are there?";
/// The mock streams a 500-piece markdown answer, each piece a word or a table cell (about 500 tokens), at
/// 100 a second, as a fast model does: about 5 s.
const LONG: &str = "How many rows are there? [mock:long=500] [mock:pace=10]";
const WAIT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Direct,
    Bare,
    Floor,
    /// DataSage over SSE; `new` for a user asking for the first time (their hub is created).
    Sse {
        new: bool,
    },
    Ws {
        new: bool,
    },
}

const WAYS: [Way; 7] = [
    Way::Direct,
    Way::Bare,
    Way::Floor,
    Way::Sse { new: true },
    Way::Ws { new: true },
    Way::Sse { new: false },
    Way::Ws { new: false },
];

impl Way {
    fn name(self) -> &'static str {
        match self {
            Way::Direct => "direct",
            Way::Bare => "bare platform",
            Way::Floor => "floor (hop, SQL, D1)",
            Way::Sse { new: true } => "SSE, new user",
            Way::Ws { new: true } => "WebSocket, new user",
            Way::Sse { new: false } => "SSE",
            Way::Ws { new: false } => "WebSocket",
        }
    }
}

/// Until what a request is timed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    FirstWord,
    End,
}

struct Bench {
    http: reqwest::Client,
    mock_url: String,
    bare_url: String,
    floor_url: String,
    api: Api,
    /// Users who asked before, each with a socket open: the `i`-th request of a wave is the `i`-th's.
    returning: Vec<(String, tokio::sync::Mutex<Tab>)>,
}

impl Bench {
    /// Milliseconds until `until`, the `i`-th request of a wave of `way`.
    async fn one(&self, way: Way, i: usize, question: &str, until: Until) -> f64 {
        let user = |new: bool| match (new, self.returning.get(i)) {
            (false, Some((token, _))) => token.clone(),
            _ => token_for(&fresh_user("bench-new")),
        };
        match way {
            Way::Direct => self.provider_stream(&self.mock_url, i, question, until).await,
            Way::Bare => self.provider_stream(&self.bare_url, i, question, until).await,
            Way::Floor => self.provider_stream(&self.floor_url, i, question, until).await,
            Way::Sse { new } => self.sse(&user(new), question, until).await,
            Way::Ws { new: true } => ws(&mut self.api.tab(&user(true)).await, question, until).await,
            Way::Ws { new: false } => match self.returning.get(i) {
                Some((_, tab)) => ws(&mut *tab.lock().await, question, until).await,
                None => f64::NAN,
            },
        }
    }

    /// Pings every returning user's socket, as an open tab does every 30 s: the hub closes a socket silent
    /// for 90 s, and the 1-stream level leaves all but one idle for longer.
    async fn keep_alive(&self) {
        for (_, tab) in &self.returning {
            tab.lock().await.ping().await;
        }
    }

    /// An OpenAI stream, from the mock or through the bare platform or the floor (as its `i`-th user).
    async fn provider_stream(&self, url: &str, i: usize, question: &str, until: Until) -> f64 {
        let req = LlmRequest {
            model: "gpt-4o-mini".into(),
            messages: vec![Message::new(Role::User, question)],
            temperature: 0.2,
            max_tokens: 1_500,
        };
        let started = Instant::now();
        let sent = self.http.post(url).header("x-user", format!("floor-{i}"));
        let Ok(resp) = sent.json(&request_body(&req)).send().await else {
            return f64::NAN;
        };
        let mut body = resp.bytes_stream();
        let (mut parser, mut extractor) = (OpenAiStream::new(), AnswerExtractor::new());
        while let Some(Ok(chunk)) = body.next().await {
            for ev in parser.push(&chunk) {
                let text = matches!(&ev, LlmEvent::Text(t) if !extractor.push(t).is_empty());
                if text && until == Until::FirstWord {
                    return ms(started);
                }
            }
        }
        if until == Until::End {
            ms(started)
        } else {
            f64::NAN
        }
    }

    async fn sse(&self, token: &str, question: &str, until: Until) -> f64 {
        let body = serde_json::json!({ "message": question, "session_id": fresh_user("bench-sse") });
        let done = |e: &StreamEvent| match until {
            Until::FirstWord => matches!(e, StreamEvent::Content { .. }),
            Until::End => e.is_terminal(),
        };
        let events = self.api.stream(token, &body, done).await;
        events
            .iter()
            .find(|t| done(&t.event))
            .map_or(f64::NAN, |t| t.at.as_secs_f64() * 1e3)
    }
}

/// Users who asked once already (their hub and D1 rows exist), each with a socket open.
async fn returning_users(api: &Api, n: usize) -> Vec<(String, tokio::sync::Mutex<Tab>)> {
    join_all((0..n).map(|_| async {
        let token = token_for(&fresh_user("bench-returning"));
        let body = serde_json::json!({ "message": QUESTION, "session_id": fresh_user("bench-first") });
        api.stream(&token, &body, |_| false).await;
        let tab = api.tab(&token).await;
        (token, tokio::sync::Mutex::new(tab))
    }))
    .await
}

/// Asks on `tab` in a new conversation: frames of earlier questions still queued are passed over.
async fn ws(tab: &mut Tab, question: &str, until: Until) -> f64 {
    let session = fresh_user("bench-ws-session");
    let started = Instant::now();
    tab.ask(&fresh_user("r"), question, &session).await;
    while let Some(frame) = tab.next(WAIT).await {
        let Incoming::Stream(f) = frame else { continue };
        let done = match until {
            Until::FirstWord => matches!(f.event, StreamEvent::Content { .. }),
            Until::End => f.event.is_terminal(),
        };
        if done && f.session_id == session {
            return ms(started);
        }
    }
    f64::NAN
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Sorted, finite.
fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.retain(|x| x.is_finite());
    v.sort_by(f64::total_cmp);
    v
}

/// First-word figures at one level: every way's samples, waves interleaved.
async fn level(bench: &Bench, n: usize) -> Vec<Vec<f64>> {
    let mut samples = vec![Vec::new(); WAYS.len()];
    for wave in 0..WAVES.max(SAMPLES.div_ceil(n)) {
        if wave % 10 == 0 {
            bench.keep_alive().await;
        }
        for (i, way) in WAYS.into_iter().enumerate() {
            let wave = join_all((0..n).map(|i| bench.one(way, i, QUESTION, Until::FirstWord))).await;
            samples[i].extend(wave);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    samples.into_iter().map(sorted).collect()
}

fn print_level(n: usize, samples: &[Vec<f64>]) {
    let p = |i: usize, q: f64| percentile(&samples[i], q);
    let (d50, d99) = (p(0, 0.5), p(0, 0.99));
    let floor = WAYS.iter().position(|w| *w == Way::Floor).unwrap_or(0);
    let (b50, b99) = (p(1, 0.5) - d50, p(1, 0.99) - d99);
    for (i, way) in WAYS.into_iter().enumerate() {
        let (a50, a99) = (p(i, 0.5) - d50, p(i, 0.99) - d99);
        let ratio = match way {
            Way::Direct | Way::Bare => String::new(),
            Way::Floor => format!("{:>6.2}× / {:.2}×", a50 / b50, a99 / b99),
            _ => format!(
                "{:>6.2}× / {:.2}×   {:>5.2}×",
                a50 / b50,
                a99 / b99,
                a50 / (p(floor, 0.5) - d50)
            ),
        };
        println!(
            "{n:>4}  {:<22} {:>8.1} {:>8.1} {:>10.1} {:>10.1}   {ratio}",
            way.name(),
            p(i, 0.5),
            p(i, 0.99),
            a50,
            a99
        );
    }
}

/// The runtime's memory over a stretch: what it held when it began, and its peak (KB).
#[derive(Clone, Copy)]
struct Memory {
    before: u64,
    peak: u64,
}

/// 50 concurrent 500-token answers one way: the p50 time to the end, and the runtime's memory meanwhile.
async fn long_answers(bench: &Bench, way: Way, runtime: Option<&WorkerInstance>) -> (f64, Option<Memory>) {
    let sampling = runtime.map(|w| (rss_kb(&w.runtime_pids()), PeakRss::start(w.runtime_pids())));
    let times = join_all((0..50).map(|i| bench.one(way, i, LONG, Until::End))).await;
    let memory = sampling.map(|(before, peak)| Memory {
        before,
        peak: peak.stop(),
    });
    (percentile(&sorted(times), 0.5), memory)
}

/// The runtimes measured side by side, each its own `wrangler dev`.
struct Runtimes {
    datasage: WorkerInstance,
    bare: WorkerInstance,
    floor: WorkerInstance,
}

impl Runtimes {
    fn start(suffix: &str, mock: &MockProvider, mock_url: &str) -> std::io::Result<Self> {
        let other = |name: &str, config| {
            WorkerInstance::start_config(&format!("{name}{suffix}"), config, &[("PROVIDER_URL", mock_url)])
        };
        Ok(Self {
            datasage: datasage(&format!("bench-routing{suffix}"), mock)?,
            bare: other("bench-bare", "benches/bare/wrangler.toml")?,
            floor: other("bench-floor", "benches/floor/wrangler.toml")?,
        })
    }
}

/// The ways to measure, with 50 returning users of DataSage and of the floor.
async fn bench_on(rt: &Runtimes, mock_url: &str) -> Bench {
    let api = Api::new(&rt.datasage.base_url);
    let bench = Bench {
        http: reqwest::Client::new(),
        bare_url: rt.bare.base_url.clone(),
        floor_url: rt.floor.base_url.clone(),
        mock_url: mock_url.to_owned(),
        returning: returning_users(&api, 50).await,
        api,
    };
    join_all((0..50).map(|i| bench.one(Way::Floor, i, QUESTION, Until::End))).await;
    bench
}

async fn first_words(bench: &Bench) {
    // Warm every path (isolate start, D1 and Durable Object first use, the JIT).
    for _ in 0..3 {
        level(bench, 10).await;
    }
    println!("first answer word, ms ({SAMPLES} waves at 1 stream, {WAVES} at 10 and 50, interleaved; added = minus direct)");
    println!(
        "{:>4}  {:<22} {:>8} {:>8} {:>10} {:>10}   added vs the bare platform's (p50 / p99), the floor's (p50)",
        "n", "way", "p50", "p99", "added p50", "added p99"
    );
    for &n in LEVELS {
        print_level(n, &level(bench, n).await);
    }
}

/// The memory figure is this load's: `main` runs it on fresh runtimes.
async fn long_answers_all(bench: &Bench, rt: &Runtimes) {
    for _ in 0..2 {
        join_all((0..50).map(|i| bench.one(Way::Sse { new: false }, i, QUESTION, Until::End))).await;
    }
    println!("\n50 concurrent 500-token answers at 100 tokens/s, returning users, on fresh runtimes:");
    println!("ms to the end (p50); the runtime's memory when the load began, and its peak");
    let (direct, _) = long_answers(bench, Way::Direct, None).await;
    let (bare_ms, bare_mem) = long_answers(bench, Way::Bare, Some(&rt.bare)).await;
    let mb = |kb: u64| kb as f64 / 1024.0;
    let bare_peak = bare_mem.map_or(0, |m| m.peak);
    println!("  {:<20} {direct:>8.0}", Way::Direct.name());
    for (way, runtime) in [
        (Way::Bare, &rt.bare),
        (Way::Floor, &rt.floor),
        (Way::Sse { new: false }, &rt.datasage),
        (Way::Ws { new: false }, &rt.datasage),
    ] {
        let (t, memory) = match way {
            Way::Bare => (bare_ms, bare_mem),
            _ => long_answers(bench, way, Some(runtime)).await,
        };
        let (before, top) = memory.map_or((0, 0), |m| (m.before, m.peak));
        println!(
            "  {:<20} {t:>8.0}  (+{:>3.0} %)   memory {:>4.0} MB, peak {:>4.0} MB ({:.2}× the bare platform's peak)",
            way.name(),
            (t / direct - 1.0) * 100.0,
            mb(before),
            mb(top),
            mb(top) / mb(bare_peak),
        );
    }
}

/// DataSage on a fresh `wrangler dev` with a fresh state, answering through the mock.
fn datasage(name: &str, mock: &MockProvider) -> std::io::Result<WorkerInstance> {
    WorkerInstance::start(
        name,
        &[
            ("JWT_SECRET", TEST_JWT_SECRET),
            ("DEV_AUTH", "false"),
            ("RATE_LIMIT_PER_MINUTE", "100000"),
            ("PROVIDER_ORDER", "openai,builtin"),
            ("OPENAI_API_KEY", "sk-bench"),
            ("OPENAI_BASE_URL", &mock.openai_base_url()),
            ("OPENROUTER_API_KEY", ""),
            ("ANTHROPIC_API_KEY", ""),
        ],
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Runtime::new()?;
    let mock = rt.block_on(MockProvider::start())?;
    let mock_url = format!("{}/chat/completions", mock.openai_base_url());
    {
        let runtimes = Runtimes::start("", &mock, &mock_url)?;
        rt.block_on(async { first_words(&bench_on(&runtimes, &mock_url).await).await });
    }
    // New runtimes and state: the memory figure is this load's, and the hubs the first part left (with
    // their heartbeat alarms) do not wake up in the middle of it.
    let runtimes = Runtimes::start("-long", &mock, &mock_url)?;
    rt.block_on(async {
        let bench = bench_on(&runtimes, &mock_url).await;
        long_answers_all(&bench, &runtimes).await;
    });
    Ok(())
}
