//! Monthly budgets, enforced in the user's hub: questions at once from several connections never spend
//! past the budget, the 80 % warning comes once, a spent budget hands questions to the built-in analyst
//! (or refuses them with `BUDGET_EXCEEDED` where it may not answer), and a new month starts over.

use datasage_shared::api::{ErrorCode, Phase};

use super::*;

/// The budget instance's monthly budget, and its price for the mock's model: dear enough that a dozen
/// answers spend the budget, while the most one call can cost (what it holds: the sample's profile in the
/// prompt, with room for the estimate's error, and a whole answer) stays near a tenth of it.
pub const BUDGET_USD: &str = "2.0";
pub const BUDGET_PRICES: &str = r#"{"gpt-4o-mini": {"input": 50, "output": 5}}"#;
/// The prompt tokens the mock reports: near what a tokenizer counts in the sample's prompt (the estimate
/// the hold starts from is about 1,600 for it).
const REPORTED_PROMPT: &str = "[mock:prompt-tokens=1500]";

/// The `budget` status messages of an answer's events.
fn budget_notes(events: &[Timed]) -> Vec<String> {
    events
        .iter()
        .filter_map(|t| match &t.event {
            StreamEvent::Status {
                status: Phase::Budget,
                message,
            } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// Sets `user`'s own monthly budget with an admin token.
async fn set_budget(api: &Api, admin: &str, user: &str, usd: f64) {
    let path = format!("/api/v1/admin/users/{user}/budget");
    let (status, body) = api.put(&path, admin, &json!({ "budget_usd": usd })).await;
    assert_eq!(status, 200, "{body}");
}

async fn spent(api: &Api, token: &str) -> f64 {
    let (_, summary) = api.get("/api/v1/usage/summary", Some(token)).await;
    summary["spent_usd"].as_f64().unwrap_or(f64::NAN)
}

/// Polls until every answer's calls are logged: the spend stops changing.
async fn settled_spend(api: &Api, token: &str) -> f64 {
    let mut last = f64::NAN;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = spent(api, token).await;
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

pub async fn questions_at_once_from_three_connections_never_spend_past_the_budget(c: Arc<Ctx>) {
    let user = fresh_user("budget");
    let token = token_for(&user);
    // Three connections: each its own HTTP client and connection pool.
    let connections: Vec<Api> = (0..3).map(|_| Api::new(&c.budget.base)).collect();
    let (mut notes, mut by_builtin) = (Vec::new(), 0);
    // Waves of ten until none of a wave's calls fits what is left: then the analyst answers them all.
    for wave in 0..12 {
        let answers = futures::future::join_all((0..10).map(|i| {
            let api = &connections[i % 3];
            let question = format!("How many rows are there? {REPORTED_PROMPT} ({wave}.{i})");
            let body = chat_body(&question, &format!("{user}-{wave}-{i}"));
            let token = token.clone();
            async move { api.stream(&token, &body, |_| false).await }
        }))
        .await;
        let mut by_provider = 0;
        for events in &answers {
            notes.extend(budget_notes(events));
            match complete_of(events).metadata.provider.as_str() {
                "builtin" => by_builtin += 1,
                _ => by_provider += 1,
            }
        }
        if by_provider == 0 {
            break;
        }
    }
    let spent = settled_spend(&c.budget, &token).await;
    let budget: f64 = BUDGET_USD.parse().unwrap_or_default();
    assert!(spent <= budget, "spent ${spent} of a ${budget} budget");
    assert!(
        spent >= 0.8 * budget,
        "used up to what a call can still fit in: ${spent}"
    );
    assert!(by_builtin > 0, "once no call fits, the built-in analyst answers");
    let warnings: Vec<_> = notes.iter().filter(|n| n.starts_with("You have used")).collect();
    assert_eq!(
        warnings.len(),
        1,
        "the 80 % warning comes once a month: {notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("What is left of this month's budget")),
        "{notes:?}"
    );

    // A new month starts over: the provider answers again, with no note.
    let question = format!("[fault:now=2027-01-15] How many rows? {user}");
    let events = c
        .budget
        .stream(&token, &chat_body(&question, &user), |_| false)
        .await;
    assert_eq!(complete_of(&events).metadata.provider, "openai");
    assert_eq!(budget_notes(&events), Vec::<String>::new());
    assert_eq!(c.mock.requests_containing(&question).len(), 1);
}

pub async fn a_spent_budget_hands_questions_to_the_builtin_analyst_or_refuses_them_with_a_code(c: Arc<Ctx>) {
    let admin = admin_token_for(&fresh_user("admin"));
    let user = fresh_user("spent");
    let token = token_for(&user);
    set_budget(&c.budget, &admin, &user, 0.0).await;
    let question = format!("How many rows are there? {user}");
    let events = c
        .budget
        .stream(&token, &chat_body(&question, &user), |_| false)
        .await;
    assert_eq!(complete_of(&events).metadata.provider, "builtin");
    let notes = budget_notes(&events);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("($0.00) is spent") && n.contains("starts over on")),
        "{notes:?}"
    );
    assert!(
        c.mock.requests_containing(&question).is_empty(),
        "no provider is called"
    );

    // Where the built-in analyst may not answer, the question is refused with a code and when it resets.
    set_budget(&c.usage, &admin, &user, 0.0).await;
    let (status, _, body) = c.usage.chat(&token, &question, &user).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (402, &json!(ErrorCode::BudgetExceeded.as_str())),
        "{body}"
    );
    assert!(
        body["error"]["reset_at"]
            .as_str()
            .is_some_and(|r| r.ends_with("-01T00:00:00Z")),
        "{body}"
    );
    let (status, _) = c
        .usage
        .get(&format!("/api/v1/sessions/{user}"), Some(&token))
        .await;
    assert_eq!(
        status, 404,
        "a refused first question leaves no empty conversation behind"
    );
    assert!(c.mock.requests_containing(&question).is_empty());
}
