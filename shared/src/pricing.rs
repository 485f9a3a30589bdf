//! Per-model prices and the cost of a call.
//!
//! Prices are US dollars per million tokens. The defaults cover common models; a deployment overrides or
//! extends them with the `MODEL_PRICES` variable, e.g.
//! `{"gpt-4o-mini": {"input": 0.15, "output": 0.6, "cached_input": 0.075}}`.

use serde::Deserialize;

use crate::llm::TokenUsage;

/// What a model costs, per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Cached input; defaults to the input price when a table entry leaves it out.
    #[serde(default)]
    pub cached_input: Option<f64>,
}

const fn p(input: f64, output: f64, cached: f64) -> Price {
    Price {
        input,
        output,
        cached_input: Some(cached),
    }
}

/// Defaults, matched by longest prefix of the model id (OpenRouter's `vendor/` prefix ignored).
const DEFAULTS: &[(&str, Price)] = &[
    ("gpt-4o-mini", p(0.15, 0.60, 0.075)),
    ("gpt-4o", p(2.50, 10.00, 1.25)),
    ("gpt-4.1-nano", p(0.10, 0.40, 0.025)),
    ("gpt-4.1-mini", p(0.40, 1.60, 0.10)),
    ("gpt-4.1", p(2.00, 8.00, 0.50)),
    ("gpt-5-nano", p(0.05, 0.40, 0.005)),
    ("gpt-5-mini", p(0.25, 2.00, 0.025)),
    ("gpt-5", p(1.25, 10.00, 0.125)),
    ("claude-3-5-haiku", p(0.80, 4.00, 0.08)),
    ("claude-haiku-4-5", p(1.00, 5.00, 0.10)),
    ("claude-sonnet-4", p(3.00, 15.00, 0.30)),
    ("claude-3-7-sonnet", p(3.00, 15.00, 0.30)),
    ("claude-opus-4", p(15.00, 75.00, 1.50)),
];

/// The price table in force.
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    overrides: Vec<(String, Price)>,
}

impl PriceTable {
    /// The defaults, overridden by a JSON object of model id → price. Invalid JSON is an error, and so is a
    /// price that is negative, not a number or over [`MAX_PRICE`]: one bad entry would otherwise make every
    /// unpriced call look ruinous and refuse questions for a budget no one spent.
    pub fn with_overrides(json: Option<&str>) -> Result<Self, serde_json::Error> {
        let overrides: Vec<(String, Price)> = match json.map(str::trim).filter(|j| !j.is_empty()) {
            Some(j) => serde_json::from_str::<std::collections::BTreeMap<String, Price>>(j)?
                .into_iter()
                .collect(),
            None => Vec::new(),
        };
        let sane = |v: f64| v.is_finite() && (0.0..=MAX_PRICE).contains(&v);
        if let Some((model, _)) = overrides.iter().find(|(_, p)| {
            ![p.input, p.output, p.cached_input.unwrap_or(0.0)]
                .into_iter()
                .all(sane)
        }) {
            return Err(serde::de::Error::custom(format!(
                "the price of `{model}` must be 0 to {MAX_PRICE} dollars per million tokens"
            )));
        }
        Ok(Self { overrides })
    }

    /// The most expensive input and output prices known (each the highest of any model): what a call to
    /// a model with no price counts as.
    pub fn ceiling(&self) -> Price {
        let all = || {
            self.overrides
                .iter()
                .map(|(_, p)| *p)
                .chain(DEFAULTS.iter().map(|(_, p)| *p))
        };
        let input = all().map(|p| p.input).fold(0.0, f64::max);
        Price {
            input,
            output: all().map(|p| p.output).fold(0.0, f64::max),
            cached_input: Some(input),
        }
    }

    /// What one call counts as: its cost, or — for a model with no price — its cost at the
    /// [`ceiling`](Self::ceiling), flagged `unpriced`, never zero.
    pub fn charge(&self, model: &str, usage: &TokenUsage) -> Charge {
        match self.cost(model, usage) {
            Some(usd) => Charge { usd, unpriced: false },
            None => Charge {
                usd: dollars(&self.ceiling(), usage),
                unpriced: true,
            },
        }
    }

    /// The most a call can cost: `input_tokens` in and `max_output_tokens` out at the model's price (the
    /// ceiling for a model with none), no cache discount.
    pub fn most(&self, model: &str, input_tokens: u64, max_output_tokens: u64) -> f64 {
        let p = self.price(model).unwrap_or_else(|| self.ceiling());
        (input_tokens as f64 * p.input + max_output_tokens as f64 * p.output) / 1_000_000.0
    }

    /// The price of `model`: an exact override, else the longest matching prefix.
    pub fn price(&self, model: &str) -> Option<Price> {
        if let Some((_, p)) = self.overrides.iter().find(|(m, _)| m == model) {
            return Some(*p);
        }
        let bare = model.rsplit_once('/').map_or(model, |(_, m)| m);
        let prefixed = |m: &str| bare.starts_with(m) || model.starts_with(m);
        self.overrides
            .iter()
            .map(|(m, p)| (m.as_str(), *p))
            .chain(DEFAULTS.iter().map(|(m, p)| (*m, *p)))
            .filter(|(m, _)| prefixed(m))
            .max_by_key(|(m, _)| m.len())
            .map(|(_, p)| p)
    }

    /// Dollars for one call's usage; `None` for a model without a price.
    pub fn cost(&self, model: &str, usage: &TokenUsage) -> Option<f64> {
        self.price(model).map(|p| dollars(&p, usage))
    }
}

/// The highest price per million tokens a table entry may give.
pub const MAX_PRICE: f64 = 1_000.0;

/// What a call counts as against a budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Charge {
    pub usd: f64,
    /// The model has no price: `usd` is at the most expensive known price.
    pub unpriced: bool,
}

fn dollars(p: &Price, usage: &TokenUsage) -> f64 {
    let cached = usage.cached_input_tokens.min(usage.input_tokens);
    let uncached = usage.input_tokens - cached;
    (uncached as f64 * p.input
        + cached as f64 * p.cached_input.unwrap_or(p.input)
        + usage.output_tokens as f64 * p.output)
        / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, cached: u64, output: u64) -> TokenUsage {
        TokenUsage {
            input_tokens: input,
            output_tokens: output,
            reasoning_tokens: 0,
            cached_input_tokens: cached,
        }
    }

    #[test]
    fn longest_prefix_wins_and_vendor_prefixes_are_ignored() {
        let t = PriceTable::default();
        assert_eq!(t.price("gpt-4o-mini-2024-07-18").map(|p| p.input), Some(0.15));
        assert_eq!(t.price("gpt-4o-2024-08-06").map(|p| p.input), Some(2.50));
        assert_eq!(t.price("openai/gpt-4o-mini").map(|p| p.input), Some(0.15));
        assert_eq!(
            t.price("claude-sonnet-4-5-20250929").map(|p| p.output),
            Some(15.0)
        );
        assert_eq!(t.price("some-local-llama"), None);
    }

    #[test]
    fn cached_input_is_billed_at_its_own_price() {
        let t = PriceTable::default();
        // 1M input of which 400k cached, 100k output on gpt-4o-mini.
        let cost = t
            .cost("gpt-4o-mini", &usage(1_000_000, 400_000, 100_000))
            .unwrap();
        assert!(
            (cost - (0.6 * 0.15 + 0.4 * 0.075 + 0.1 * 0.60)).abs() < 1e-12,
            "{cost}"
        );
    }

    #[test]
    fn overrides_replace_and_extend_the_defaults() {
        let t = PriceTable::with_overrides(Some(
            r#"{"gpt-4o-mini": {"input": 1, "output": 2}, "llama3": {"input": 0, "output": 0}}"#,
        ))
        .unwrap();
        assert_eq!(
            t.cost("gpt-4o-mini", &usage(1_000_000, 1_000_000, 0)),
            Some(1.0),
            "cached falls back to input"
        );
        assert_eq!(t.cost("llama3:8b", &usage(10, 0, 10)), Some(0.0));
        assert!(PriceTable::with_overrides(Some("{nope")).is_err());
    }

    #[test]
    fn a_bad_price_entry_is_refused_rather_than_inflating_every_unpriced_call() {
        for bad in [
            r#"{"m": {"input": -1, "output": 1}}"#,
            r#"{"m": {"input": 1, "output": 1e9}}"#,
            r#"{"m": {"input": 1, "output": 1, "cached_input": -0.5}}"#,
        ] {
            assert!(PriceTable::with_overrides(Some(bad)).is_err(), "{bad}");
        }
        let t = PriceTable::with_overrides(Some(r#"{"m": {"input": 1000, "output": 1000}}"#)).unwrap();
        assert_eq!(t.ceiling().output, 1000.0);
    }

    #[test]
    fn an_unpriced_model_counts_at_the_most_expensive_known_price_not_zero() {
        let t = PriceTable::default();
        let ceiling = t.ceiling();
        assert_eq!((ceiling.input, ceiling.output), (15.0, 75.0), "claude-opus-4's");
        let charge = t.charge("some-local-llama", &usage(1_000_000, 0, 100_000));
        assert!(charge.unpriced);
        assert!((charge.usd - (15.0 + 7.5)).abs() < 1e-9, "{charge:?}");
        let priced = t.charge("gpt-4o-mini", &usage(1_000_000, 0, 0));
        assert_eq!((priced.usd, priced.unpriced), (0.15, false));
    }

    #[test]
    fn the_most_a_call_can_cost_bounds_what_it_costs() {
        let t = PriceTable::default();
        for (model, input, output) in [("gpt-4o", 3_000, 512), ("no-price", 10, 1_024)] {
            let most = t.most(model, input, 1_024);
            let charged = t.charge(model, &usage(input, 0, output)).usd;
            assert!(charged <= most + 1e-15, "{model}: {charged} > {most}");
        }
    }
}
