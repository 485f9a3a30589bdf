//! Enums whose variants travel as words — in JSON, in the call log, in D1 — each declared once.
//!
//! [`wire_words!`] takes an enum with a word per variant (`High = "high"`) and gives it serde's
//! `Serialize`/`Deserialize` as that word, the app's reader ([`crate::wire::FromJson`]), `as_str`,
//! `from_word` and `ALL`, so the words cannot drift apart and tests can walk every variant.

/// Declares a unit enum whose variants are written as the given words. Attributes pass through
/// (`#[derive(Default)]` with a `#[default]` variant, say); `Debug`, `Clone`, `Copy`, `PartialEq`, `Eq`
/// and `Hash` are always derived.
macro_rules! wire_words {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every variant's word, in declaration order.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            /// The word the wire uses.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            /// The variant a word names.
            pub fn from_word(word: &str) -> Option<Self> {
                match word {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let word = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                $name::from_word(&word).ok_or_else(|| serde::de::Error::unknown_variant(&word, $name::WORDS))
            }
        }

        impl $crate::wire::FromJson for $name {
            fn from_json<J: $crate::wire::Json>(j: &J) -> Result<Self, $crate::wire::WireError> {
                let word = <String as $crate::wire::FromJson>::from_json(j)?;
                $name::from_word(&word).ok_or_else($crate::wire::WireError::here)
            }
        }
    };
}

pub(crate) use wire_words;

#[cfg(test)]
mod tests {
    use crate::api::{ChartType, Confidence, ErrorCode, Phase};
    use crate::llm::{CallType, UsageSource};
    use crate::routing::FailureClass;
    use crate::schema::{ColumnType, DateFormat};
    use crate::tree::{CallStatus, Circuit, NodeKind, NodeStatus};
    use crate::usage::GroupBy;
    use crate::wire::FromJson;

    /// Every variant of `T` is written as its word, read back from it by serde and by the app's reader,
    /// and no two variants share a word; an unknown word is refused by both.
    fn round_trips<T>(all: &[T], words: &[&str], as_str: fn(T) -> &'static str)
    where
        T: Copy + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned + FromJson,
    {
        assert_eq!(all.len(), words.len());
        for (&v, &word) in all.iter().zip(words) {
            assert_eq!(as_str(v), word);
            let wire = serde_json::to_value(v).unwrap();
            assert_eq!(wire, serde_json::json!(word));
            assert_eq!(serde_json::from_value::<T>(wire.clone()).unwrap(), v);
            assert_eq!(T::from_json(&wire).unwrap(), v);
        }
        let mut unique = words.to_vec();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), words.len(), "two variants share a word: {words:?}");
        let unknown = serde_json::json!("no-such-word");
        assert!(serde_json::from_value::<T>(unknown.clone()).is_err());
        assert!(T::from_json(&unknown).is_err());
    }

    #[test]
    fn every_wire_word_of_every_enum_reads_back_as_its_variant() {
        round_trips(Confidence::ALL, Confidence::WORDS, Confidence::as_str);
        round_trips(ChartType::ALL, ChartType::WORDS, ChartType::as_str);
        round_trips(Phase::ALL, Phase::WORDS, Phase::as_str);
        round_trips(ErrorCode::ALL, ErrorCode::WORDS, ErrorCode::as_str);
        round_trips(NodeKind::ALL, NodeKind::WORDS, NodeKind::as_str);
        round_trips(NodeStatus::ALL, NodeStatus::WORDS, NodeStatus::as_str);
        round_trips(CallStatus::ALL, CallStatus::WORDS, CallStatus::as_str);
        round_trips(Circuit::ALL, Circuit::WORDS, Circuit::as_str);
        round_trips(CallType::ALL, CallType::WORDS, CallType::as_str);
        round_trips(UsageSource::ALL, UsageSource::WORDS, UsageSource::as_str);
        round_trips(FailureClass::ALL, FailureClass::WORDS, FailureClass::as_str);
        round_trips(ColumnType::ALL, ColumnType::WORDS, ColumnType::as_str);
        round_trips(DateFormat::ALL, DateFormat::WORDS, DateFormat::as_str);
        round_trips(GroupBy::ALL, GroupBy::WORDS, GroupBy::as_str);
    }

    #[test]
    fn error_codes_keep_their_screaming_words() {
        assert_eq!(ErrorCode::ProvidersUnavailable.as_str(), "PROVIDERS_UNAVAILABLE");
        assert_eq!(ErrorCode::from_word("INVALID_CSV"), Some(ErrorCode::InvalidCsv));
    }
}
