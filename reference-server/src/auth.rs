//! Who is who: password hashes, signed session cookies, CSRF tokens, visitor tokens.
//!
//! Everything is stateless and derived from one server secret, so any instance sharing the secret
//! (and the store) recognises any session: no sticky sessions needed.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chatcore::{AgentId, Timestamp};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How long an agent stays logged in.
pub const SESSION_HOURS: i64 = 12;

/// The server secret: signs sessions, derives CSRF tokens and visitor credential digests.
#[derive(Clone)]
pub struct Secret(std::sync::Arc<[u8; 32]>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A fresh random secret.
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Secret(std::sync::Arc::new(bytes))
    }

    /// From its base64url text form (at least 32 bytes of key material).
    pub fn from_text(text: &str) -> Result<Self, String> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|e| format!("the secret is not base64url: {e}"))?;
        if bytes.len() < 32 {
            return Err(format!("the secret has {} bytes; it needs 32", bytes.len()));
        }
        // Longer secrets are folded into 32 bytes.
        let digest = <Sha256 as sha2::Digest>::digest(&bytes);
        Ok(Secret(std::sync::Arc::new(digest.into())))
    }

    /// Its base64url text form (for the secret file).
    pub fn to_text(&self) -> String {
        B64.encode(*self.0)
    }

    fn mac(&self, purpose: &str, data: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&*self.0).unwrap_or_else(|_| unreachable!());
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    fn verify(&self, purpose: &str, data: &[u8], tag: &[u8]) -> bool {
        let mut mac = HmacSha256::new_from_slice(&*self.0).unwrap_or_else(|_| unreachable!());
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        // Constant-time comparison.
        mac.verify_slice(tag).is_ok()
    }

    /// Signs `payload` for a cookie: `payload.tag`, both base64url.
    pub fn sign(&self, purpose: &str, payload: &str) -> String {
        format!(
            "{}.{}",
            B64.encode(payload),
            B64.encode(self.mac(purpose, payload.as_bytes()))
        )
    }

    /// The payload of a value made by [`Secret::sign`] with the same purpose, if the tag is right.
    pub fn unsign(&self, purpose: &str, signed: &str) -> Option<String> {
        let (payload, tag) = signed.split_once('.')?;
        let payload = B64.decode(payload).ok()?;
        let tag = B64.decode(tag).ok()?;
        self.verify(purpose, &payload, &tag)
            .then(|| String::from_utf8(payload).ok())
            .flatten()
    }

    /// The digest stored with a room for a visitor token: the token itself is never stored.
    pub fn visitor_digest(&self, token: &str) -> Vec<u8> {
        self.mac("visitor", token.as_bytes())
    }

    /// Whether `token` is the one whose digest the room keeps (constant time).
    pub fn visitor_matches(&self, token: &str, digest: &[u8]) -> bool {
        self.verify("visitor", token.as_bytes(), digest)
    }

    /// The CSRF token of a session: derived, so it needs no storage.
    pub fn csrf_token(&self, session_nonce: &str) -> String {
        B64.encode(self.mac("csrf", session_nonce.as_bytes()))
    }

    /// Whether `token` is the session's CSRF token (constant time).
    pub fn csrf_matches(&self, session_nonce: &str, token: &str) -> bool {
        B64.decode(token.trim())
            .map(|tag| self.verify("csrf", session_nonce.as_bytes(), &tag))
            .unwrap_or(false)
    }
}

/// The host site's key for identity validation: it signs its customers' ids with
/// HMAC-SHA256(key, customer id) and passes the hex signature along (as Chatwoot's identity validation
/// does).
#[derive(Clone)]
pub struct IdentityKey(std::sync::Arc<Vec<u8>>);

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityKey(..)")
    }
}

impl IdentityKey {
    /// The key as configured (at least 16 bytes).
    pub fn new(key: &str) -> Result<Self, String> {
        if key.len() < 16 {
            return Err("the identity secret needs at least 16 characters".into());
        }
        Ok(IdentityKey(std::sync::Arc::new(key.as_bytes().to_vec())))
    }

    /// The hex signature the host computes for `customer_id` (for tests and integrators).
    pub fn sign(&self, customer_id: &str) -> String {
        hmac_sha256_hex(&self.0, customer_id.as_bytes())
    }

    /// Whether `signature` (hex) is the host's signature of `customer_id` (constant time).
    pub fn verify(&self, customer_id: &str, signature: &str) -> bool {
        let signature = signature.trim();
        if signature.len() != 64 || !signature.is_ascii() {
            return false;
        }
        let Some(tag) = (0..32)
            .map(|i| u8::from_str_radix(&signature[i * 2..i * 2 + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()
        else {
            return false;
        };
        let mut mac = HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(customer_id.as_bytes());
        mac.verify_slice(&tag).is_ok()
    }
}

/// Whether `a == b`, in time that depends only on their lengths (tokens compared with a secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Lowercase hex HMAC-SHA256 of `data` under `key`: customer identities, webhook signatures.
pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    let mut mac =
        HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("any key length"));
    mac.update(data);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 128 random bits, base64url: visitor tokens and session nonces.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// A real argon2id hash of nothing anyone knows: verifying against it costs what a real check costs,
/// so failed logins for unknown usernames take as long as for known ones.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

/// Whether `password` matches the stored argon2 hash (false for a malformed hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A logged-in agent's session, as carried in the signed cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The agent.
    pub agent: AgentId,
    /// When the session ends.
    pub expires: Timestamp,
    /// Random per login; the CSRF token is derived from it.
    pub nonce: String,
}

impl Session {
    /// A new session for `agent` starting `now`.
    pub fn new(agent: AgentId, now: Timestamp) -> Self {
        Session {
            agent,
            expires: Timestamp(now.0 + SESSION_HOURS * 3_600_000),
            nonce: random_token(),
        }
    }

    /// The signed cookie value.
    pub fn to_cookie(&self, secret: &Secret) -> String {
        secret.sign(
            "session",
            &format!("{}:{}:{}", self.agent, self.expires.0, self.nonce),
        )
    }

    /// The session in a cookie value, if it is signed by `secret` and not expired at `now`.
    pub fn from_cookie(value: &str, secret: &Secret, now: Timestamp) -> Option<Self> {
        let payload = secret.unsign("session", value)?;
        let mut parts = payload.splitn(3, ':');
        let agent = AgentId(parts.next()?.parse().ok()?);
        let expires = Timestamp(parts.next()?.parse().ok()?);
        let nonce = parts.next()?.to_owned();
        (expires > now).then_some(Session {
            agent,
            expires,
            nonce,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_round_trip_and_reject_forgeries() {
        let secret = Secret::random();
        let session = Session::new(AgentId(7), Timestamp(1_000));
        let cookie = session.to_cookie(&secret);
        assert_eq!(
            Session::from_cookie(&cookie, &secret, Timestamp(2_000)),
            Some(session.clone())
        );
        assert_eq!(
            Session::from_cookie(&cookie, &Secret::random(), Timestamp(2_000)),
            None,
            "other secret"
        );
        assert_eq!(
            Session::from_cookie(&cookie, &secret, session.expires),
            None,
            "expired"
        );
        let forged = secret.sign("visitor", "7:99999999999999:x");
        assert_eq!(
            Session::from_cookie(&forged, &secret, Timestamp(0)),
            None,
            "purpose matters"
        );
        let (payload, tag) = cookie.split_once('.').unwrap();
        let tampered = format!(
            "{}.{tag}",
            B64.encode(
                B64.decode(payload)
                    .unwrap()
                    .iter()
                    .map(|b| b ^ 1)
                    .collect::<Vec<_>>()
            )
        );
        assert_eq!(Session::from_cookie(&tampered, &secret, Timestamp(0)), None);
        for junk in ["", ".", "a.b", "not-a-cookie", "..."] {
            assert_eq!(
                Session::from_cookie(junk, &secret, Timestamp(0)),
                None,
                "{junk:?}"
            );
        }
    }

    #[test]
    fn csrf_and_visitor_tokens() {
        let secret = Secret::random();
        let csrf = secret.csrf_token("nonce-1");
        assert!(secret.csrf_matches("nonce-1", &csrf));
        assert!(!secret.csrf_matches("nonce-2", &csrf));
        assert!(!secret.csrf_matches("nonce-1", ""));
        let token = random_token();
        let digest = secret.visitor_digest(&token);
        assert!(secret.visitor_matches(&token, &digest));
        assert!(!secret.visitor_matches(&random_token(), &digest));
        assert!(token.len() >= 22, "128 bits");
    }

    #[test]
    fn passwords_hash_with_argon2id() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("x", "not a hash"));
    }
}
