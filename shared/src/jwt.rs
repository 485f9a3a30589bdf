//! HS256 JSON Web Tokens (RFC 7519): issuing and verifying, with the clock passed in.
//!
//! Only HS256 is accepted: a token naming any other `alg` (including `none`) is rejected before its
//! signature is looked at, so an attacker cannot pick the algorithm.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// The claims DataSage reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// `"admin"` for a token allowed the admin routes (minted with `JWT_SECRET`; dev tokens never are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// The role of a token allowed the admin routes.
pub const ADMIN_ROLE: &str = "admin";

impl Claims {
    pub fn is_admin(&self) -> bool {
        self.role.as_deref() == Some(ADMIN_ROLE)
    }
}

/// Why a token was refused. The message is safe to show to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("token is not a well-formed JWT")]
    Malformed,
    #[error("token algorithm `{0}` is not accepted (only HS256)")]
    UnsupportedAlg(String),
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token has no subject")]
    NoSubject,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// Issues a signed token (any claims shape: a [`Claims`] for sign-in, others for short-lived tickets).
pub fn sign<T: Serialize>(claims: &T, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let mut m = mac(secret);
    m.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

/// Verifies signature, algorithm, `exp` and `nbf` at time `now` (Unix seconds) and returns the claims.
pub fn verify(token: &str, secret: &[u8], now: u64) -> Result<Claims, JwtError> {
    let claims: Claims = verify_signature(token, secret)?;
    if claims.sub.trim().is_empty() {
        return Err(JwtError::NoSubject);
    }
    if now >= claims.exp.saturating_add(LEEWAY_SECS) {
        return Err(JwtError::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| now.saturating_add(LEEWAY_SECS) < nbf)
    {
        return Err(JwtError::NotYetValid);
    }
    Ok(claims)
}

/// Checks the algorithm and signature only and reads the claims as `T`; the caller checks their times.
pub fn verify_signature<T: serde::de::DeserializeOwned>(token: &str, secret: &[u8]) -> Result<T, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwtError::Malformed);
    };
    let header: Header = decode_json(h)?;
    if header.alg != "HS256" {
        return Err(JwtError::UnsupportedAlg(header.alg));
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Malformed)?;
    let mut m = mac(secret);
    m.update(h.as_bytes());
    m.update(b".");
    m.update(p.as_bytes());
    m.verify_slice(&sig).map_err(|_| JwtError::BadSignature)?; // constant-time comparison
    decode_json(p)
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, JwtError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-secret";
    const NOW: u64 = 1_800_000_000;

    fn claims() -> Claims {
        Claims {
            sub: "user-1".into(),
            exp: NOW + 3600,
            nbf: Some(NOW - 10),
            iat: Some(NOW - 10),
            role: None,
        }
    }

    #[test]
    fn a_token_we_signed_verifies_and_yields_its_user() {
        let t = sign(&claims(), SECRET);
        assert_eq!(verify(&t, SECRET, NOW).unwrap().sub, "user-1");
    }

    #[test]
    fn a_token_signed_with_another_secret_is_forged() {
        let t = sign(&claims(), b"other");
        assert_eq!(verify(&t, SECRET, NOW), Err(JwtError::BadSignature));
    }

    #[test]
    fn a_tampered_payload_is_rejected() {
        let t = sign(&claims(), SECRET);
        let parts: Vec<&str> = t.split('.').collect();
        let evil = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin","exp":9999999999}"#);
        let forged = format!("{}.{}.{}", parts[0], evil, parts[2]);
        assert_eq!(verify(&forged, SECRET, NOW), Err(JwtError::BadSignature));
    }

    #[test]
    fn alg_none_is_rejected_even_without_signature() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let p = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
        assert_eq!(
            verify(&format!("{h}.{p}."), SECRET, NOW),
            Err(JwtError::UnsupportedAlg("none".into()))
        );
    }

    #[test]
    fn expired_and_not_yet_valid_tokens_are_rejected() {
        let mut c = claims();
        c.exp = NOW - LEEWAY_SECS - 1;
        assert_eq!(verify(&sign(&c, SECRET), SECRET, NOW), Err(JwtError::Expired));
        let mut c = claims();
        c.nbf = Some(NOW + LEEWAY_SECS + 60);
        assert_eq!(verify(&sign(&c, SECRET), SECRET, NOW), Err(JwtError::NotYetValid));
    }

    #[test]
    fn garbage_is_malformed() {
        for t in ["", "abc", "a.b", "a.b.c.d", "!!.??.**"] {
            assert_eq!(verify(t, SECRET, NOW), Err(JwtError::Malformed), "{t}");
        }
    }
}
