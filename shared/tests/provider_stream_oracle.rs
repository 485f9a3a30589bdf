//! Oracle: every recorded provider stream (OpenAI, OpenRouter, Anthropic) parses to exactly the text, finish
//! reason, usage and errors its `.expected.json` states — fed whole, byte by byte, and in random chunk sizes.

use std::path::{Path, PathBuf};

use datasage_shared::llm::{Collected, FinishReason, LlmEvent};
use datasage_shared::provider::anthropic::AnthropicStream;
use datasage_shared::provider::openai::OpenAiStream;
use datasage_shared::provider::StreamParser;
use serde_json::Value;

fn fixtures() -> Vec<(PathBuf, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/providers");
    let mut out = Vec::new();
    for dir in ["openai", "openrouter", "anthropic"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sse") {
                let expected = path.with_extension("expected.json");
                let v: Value = serde_json::from_str(&std::fs::read_to_string(&expected).unwrap()).unwrap();
                out.push((path, v));
            }
        }
    }
    assert!(out.len() >= 17, "fixtures missing: found {}", out.len());
    out
}

/// The parser for a fixture's protocol: OpenRouter speaks OpenAI's.
fn parser_for(path: &Path) -> Box<dyn StreamParser> {
    if path.parent().is_some_and(|d| d.ends_with("anthropic")) {
        Box::new(AnthropicStream::new())
    } else {
        Box::new(OpenAiStream::new())
    }
}

fn collect(mut p: Box<dyn StreamParser>, chunks: impl Iterator<Item = Vec<u8>>) -> Collected {
    let mut c = Collected::default();
    for chunk in chunks {
        p.push(&chunk).into_iter().for_each(|e| c.add(e));
    }
    p.finish().into_iter().for_each(|e| c.add(e));
    c
}

/// Deterministic chunk sizes between 1 and 64 bytes, so failures reproduce.
fn random_chunks(bytes: &[u8], seed: u64) -> Vec<Vec<u8>> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = 1 + (state % 64) as usize;
        let end = (i + n).min(bytes.len());
        out.push(bytes[i..end].to_vec());
        i = end;
    }
    out
}

fn check(name: &str, how: &str, got: &Collected, want: &Value) {
    assert_eq!(got.text, want["text"].as_str().unwrap(), "{name} ({how}): text");
    let finish = want["finish_reason"].as_str().map(FinishReason::from_provider);
    assert_eq!(got.finish, finish, "{name} ({how}): finish reason");
    match &want["usage"] {
        Value::Null => assert_eq!(got.usage, None, "{name} ({how}): usage"),
        u => {
            let got_u = got
                .usage
                .unwrap_or_else(|| panic!("{name} ({how}): no usage parsed"));
            // Normalized input counts cached tokens too; Anthropic reports them beside input_tokens.
            let input = u["input_tokens"].as_u64().unwrap()
                + u["cache_read_input_tokens"].as_u64().unwrap_or(0)
                + u["cache_creation_input_tokens"].as_u64().unwrap_or(0);
            assert_eq!(got_u.input_tokens, input, "{name} ({how}): input");
            assert_eq!(
                got_u.output_tokens,
                u["output_tokens"].as_u64().unwrap(),
                "{name} ({how}): output"
            );
            if let Some(r) = u["reasoning_tokens"].as_u64() {
                assert_eq!(got_u.reasoning_tokens, r, "{name} ({how}): reasoning tokens");
            }
            if let Some(c) = u["cached_input_tokens"]
                .as_u64()
                .or(u["cache_read_input_tokens"].as_u64())
            {
                assert_eq!(got_u.cached_input_tokens, c, "{name} ({how}): cached tokens");
            }
        }
    }
    if let Some(r) = want["reasoning_text"].as_str().or(want["thinking_text"].as_str()) {
        assert_eq!(
            got.reasoning, r,
            "{name} ({how}): reasoning stays out of the answer"
        );
    }
    let want_error = want.get("error").is_some();
    assert_eq!(
        !got.errors.is_empty(),
        want_error,
        "{name} ({how}): in-stream error {:?}",
        got.errors
    );
}

#[test]
fn recorded_streams_parse_to_their_expected_text_finish_and_usage_however_chunked() {
    for (path, want) in fixtures() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        check(
            &name,
            "whole",
            &collect(parser_for(&path), std::iter::once(bytes.clone())),
            &want,
        );
        check(
            &name,
            "byte by byte",
            &collect(parser_for(&path), bytes.iter().map(|b| vec![*b])),
            &want,
        );
        for seed in 1..=20 {
            check(
                &name,
                &format!("random seed {seed}"),
                &collect(parser_for(&path), random_chunks(&bytes, seed).into_iter()),
                &want,
            );
        }
    }
}

#[test]
fn a_stream_split_inside_a_multibyte_character_keeps_the_character() {
    let body = "data: {\"choices\":[{\"delta\":{\"content\":\"you’d 😀\"}}]}\n\n".as_bytes();
    let split = body.iter().position(|&b| b == 0xE2).unwrap() + 1; // inside the curly apostrophe
    let mut p = OpenAiStream::new();
    let mut evs = p.push(&body[..split]);
    evs.extend(p.push(&body[split..]));
    assert_eq!(evs, vec![LlmEvent::Text("you’d 😀".into())]);
}

#[test]
fn recorded_error_bodies_yield_the_providers_message_and_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/providers");
    let cases = [
        "openai/error_404_model_not_found",
        "openrouter/error_429_upstream_rate_limited",
    ];
    for case in cases {
        let body = std::fs::read_to_string(root.join(format!("{case}.json"))).unwrap();
        let want: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join(format!("{case}.expected.json"))).unwrap(),
        )
        .unwrap();
        let got = datasage_shared::provider::http_error(&body);
        let message = want["error"]["message"].as_str().unwrap();
        assert!(got.message.starts_with(message), "{case}: {}", got.message);
        let code = match &want["error"]["code"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(got.code.as_deref(), Some(code.as_str()), "{case}");
        if let Some(raw) = want["error"]["metadata"]["raw"].as_str() {
            assert!(
                got.message.contains(&raw[..60]),
                "{case}: OpenRouter's upstream detail is kept"
            );
        }
    }
    let anthropic = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let got = datasage_shared::provider::http_error(anthropic);
    assert_eq!(
        (got.message.as_str(), got.kind.as_deref()),
        ("Overloaded", Some("overloaded_error"))
    );
    assert_eq!(
        datasage_shared::provider::http_error("<html>502 Bad Gateway</html>").message,
        "<html>502 Bad Gateway</html>"
    );
}

#[test]
fn a_huge_error_body_is_kept_only_as_a_short_excerpt() {
    use datasage_shared::provider::{http_error, ERROR_CODE_CHARS, ERROR_MESSAGE_CHARS};
    let huge = "x".repeat(2 << 20);
    let body = serde_json::json!({"error": {"message": huge, "code": huge, "type": huge,
        "metadata": {"raw": huge, "provider_name": huge}}})
    .to_string();
    let got = http_error(&body);
    assert!(
        got.message.chars().count() <= 2 * ERROR_MESSAGE_CHARS + ERROR_CODE_CHARS + 8,
        "{}",
        got.message.len()
    );
    assert!(got.code.is_some_and(|c| c.chars().count() <= ERROR_CODE_CHARS));
    assert!(got.kind.is_some_and(|k| k.chars().count() <= ERROR_CODE_CHARS));
    assert!(http_error(&huge).message.chars().count() <= ERROR_MESSAGE_CHARS);
}
