//! The LLM path: the dataset profile and the question go to a provider, whose normalized stream is
//! relayed to the client token by token.

use datasage_shared::analyst::profile_markdown;
use datasage_shared::api::{AnswerMetadata, ChatAnswer, Confidence, ErrorBody, ErrorCode, Phase, Usage};
use datasage_shared::llm::{FinishReason, LlmEvent, LlmRequest, Role};
use datasage_shared::prompt::build_messages;
use datasage_shared::text::excerpt;
use datasage_shared::tree::{LlmCallInfo, NodeKind, NodeStatus};
use futures::StreamExt;

use super::{Emitter, Job};
use crate::db::CallLog;
use crate::providers::Provider;
use crate::util::now_ms;

const TEMPERATURE: f32 = 0.2;
const MAX_TOKENS: u32 = 1_024;

pub async fn answer(
    provider: &dyn Provider,
    job: &Job,
    em: &mut Emitter,
) -> (Result<ChatAnswer, ErrorBody>, Vec<CallLog>) {
    let node = em.start(NodeKind::Step, "Assemble prompt");
    let messages = build_messages(&profile_markdown(job.table), &job.question);
    let prompt_chars: usize = messages.iter().map(|m| m.content.len()).sum();
    em.finish(
        node,
        NodeStatus::Done,
        Some(format!(
            "dataset profile of {} + question, {prompt_chars} characters",
            job.table.name
        )),
    );
    let user_prompt = messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| m.content.clone())
        .unwrap_or_default();

    em.status(
        Phase::CallingModel,
        format!("Asking {} ({})…", provider.model(), provider.name()),
    );
    let node = em.start(
        NodeKind::LlmCall,
        format!("{} · {}", provider.name(), provider.model()),
    );
    let started = now_ms();
    let req = LlmRequest {
        model: provider.model().to_owned(),
        messages,
        temperature: TEMPERATURE,
        max_tokens: MAX_TOKENS,
    };

    let mut text = String::new();
    let mut reasoning = String::new();
    let mut usage = Usage::default();
    let mut finish: Option<FinishReason> = None;
    let mut ttft_ms: Option<u64> = None;
    let mut failure: Option<(ErrorCode, String)> = None;

    match provider.stream(req).await {
        Err(e) => failure = Some((ErrorCode::ProviderError, e.to_string())),
        Ok(mut stream) => {
            em.status(Phase::Writing, "Writing answer…");
            while let Some(item) = stream.next().await {
                if em.client_gone() {
                    break; // dropping the stream stops reading the upstream body
                }
                match item {
                    Ok(LlmEvent::Text(t)) => {
                        ttft_ms.get_or_insert_with(|| now_ms().saturating_sub(started));
                        em.content(&t);
                        text.push_str(&t);
                    }
                    Ok(LlmEvent::Reasoning(r)) => reasoning.push_str(&r),
                    Ok(LlmEvent::Usage(u)) => usage = Usage::new(u.input_tokens, u.output_tokens),
                    Ok(LlmEvent::Finish(f)) => finish = Some(f),
                    Ok(LlmEvent::Error { message, .. }) => {
                        failure = Some((
                            ErrorCode::ProviderError,
                            format!("{} reported: {message}", provider.name()),
                        ));
                        break;
                    }
                    Err(e) => {
                        failure = Some((ErrorCode::ProviderError, e.to_string()));
                        break;
                    }
                }
            }
        }
    }
    let latency_ms = now_ms().saturating_sub(started);
    let cancelled = em.client_gone();
    if failure.is_none() && !cancelled {
        if finish.is_none() {
            failure = Some((
                ErrorCode::ProviderError,
                format!("{} ended its stream before finishing", provider.name()),
            ));
        } else if text.trim().is_empty() {
            failure = Some((
                ErrorCode::ProviderError,
                format!("{} returned an empty answer", provider.name()),
            ));
        }
    }
    let status = match (&failure, cancelled) {
        (_, true) => "cancelled",
        (Some(_), _) if text.trim().is_empty() && finish.is_some() => "empty",
        (Some(_), _) => "error",
        (None, _) => "ok",
    };

    if let Some(n) = em.tree.node_mut(node) {
        n.llm = Some(LlmCallInfo {
            provider: provider.name().to_owned(),
            model: provider.model().to_owned(),
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cost_usd: 0.0,
            ttft_ms,
            retries: 0,
        });
    }
    let detail = match (&failure, reasoning.is_empty()) {
        (Some((_, msg)), _) => Some(msg.clone()),
        (None, false) => Some(format!("reasoning: {}", excerpt(&reasoning, 500))),
        (None, true) => None,
    };
    em.finish(
        node,
        if status == "ok" {
            NodeStatus::Done
        } else {
            NodeStatus::Failed
        },
        detail,
    );

    let call = CallLog {
        provider: provider.name().to_owned(),
        model: provider.model().to_owned(),
        call_type: "answer".into(),
        status: status.into(),
        prompt: user_prompt,
        response: text.clone(),
        usage,
        latency_ms,
        metadata: serde_json::json!({
            "finish_reason": finish,
            "ttft_ms": ttft_ms,
            "prompt_chars": prompt_chars,
            "reasoning_chars": reasoning.chars().count(),
            "error": failure.as_ref().map(|(_, m)| m),
        }),
    };
    let result = match (failure, cancelled) {
        (_, true) => Err(super::cancelled()),
        (Some((code, message)), _) => Err(ErrorBody {
            code,
            message,
            retry_after_secs: None,
        }),
        (None, _) => Ok(ChatAnswer {
            message: text,
            chart_config: None,
            confidence: if finish == Some(FinishReason::Stop) {
                Confidence::Medium
            } else {
                Confidence::Low
            },
            metadata: AnswerMetadata {
                execution_tree: em.tree.clone(),
                usage,
                provider: provider.name().to_owned(),
                model: provider.model().to_owned(),
                latency_ms,
            },
        }),
    };
    (result, vec![call])
}
