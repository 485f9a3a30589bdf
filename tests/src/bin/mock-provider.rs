//! Runs the mock provider standalone, e.g. to point a local `wrangler dev` at it:
//! `cargo run -p datasage-tests --bin mock-provider -- 127.0.0.1:9099`, then
//! `OPENAI_BASE_URL=http://127.0.0.1:9099/v1` and any `OPENAI_API_KEY` in `.dev.vars`.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9099".into());
    let mock = datasage_tests::mock_provider::MockProvider::start_on(&addr).await?;
    println!(
        "mock provider: OPENAI_BASE_URL={} ANTHROPIC_BASE_URL={}",
        mock.openai_base_url(),
        mock.anthropic_base_url()
    );
    tokio::signal::ctrl_c().await
}
