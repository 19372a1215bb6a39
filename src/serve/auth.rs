//! API keys: a file of `KEY_ID ROLE SHA256_HEX_OF_SECRET` lines (`#`
//! comments), secrets sent as `Authorization: Bearer <secret>`. Only the
//! hash of a secret is stored; the presented secret's hash is compared with
//! every key in constant time, so timing reveals neither which key nor how
//! many leading bytes matched.

use std::path::Path;

use sha2::{Digest, Sha256};

pub use crate::pipeline::hash::hex;
use crate::{Error, Result};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Submit jobs and read its own.
    Submit,
    /// Read its own jobs.
    Read,
    /// Everything, every job.
    Admin,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        match s {
            "submit" => Some(Role::Submit),
            "read" => Some(Role::Read),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn may_submit(self) -> bool {
        matches!(self, Role::Submit | Role::Admin)
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub key_id: String,
    pub role: Role,
}

impl Caller {
    /// Whether this caller may see a job owned by `owner`.
    pub fn may_see(&self, owner: &str) -> bool {
        self.role == Role::Admin || self.key_id == owner
    }
}

#[derive(Debug, Clone)]
struct Key {
    id: String,
    role: Role,
    hash: [u8; 32],
}

/// The configured keys, or none (every request is the anonymous admin; the
/// server then listens on loopback only unless told otherwise).
#[derive(Debug, Clone, Default)]
pub struct KeyStore {
    keys: Option<Vec<Key>>,
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Invalid,
}

/// The caller id used when no key file is configured.
pub const ANONYMOUS: &str = "anonymous";

impl KeyStore {
    pub fn disabled() -> Self {
        KeyStore { keys: None }
    }

    pub fn enabled(&self) -> bool {
        self.keys.is_some()
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut keys: Vec<Key> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = |m: String| Error::format(path, format!("line {}: {m}", n + 1));
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [id, role, hash] = fields[..] else {
                return Err(at(format!(
                    "expected `KEY_ID ROLE SHA256_HEX`, found {} fields",
                    fields.len()
                )));
            };
            let role = Role::parse(role)
                .ok_or_else(|| at(format!("role `{role}` is not one of submit, read, admin")))?;
            let hash = parse_hex32(hash).ok_or_else(|| {
                at(
                    "the hash is not 64 hexadecimal digits (use `radial serve hash-key SECRET`)"
                        .into(),
                )
            })?;
            if keys.iter().any(|k| k.id == id) {
                return Err(at(format!("key id `{id}` appears twice")));
            }
            if keys.iter().any(|k| k.hash == hash) {
                return Err(at(format!("key `{id}` has the same secret as another key")));
            }
            keys.push(Key {
                id: id.to_string(),
                role,
                hash,
            });
        }
        if keys.is_empty() {
            return Err(Error::format(path, "no API key in the file"));
        }
        Ok(KeyStore { keys: Some(keys) })
    }

    /// The caller of a request with this `Authorization` header value.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, AuthFailure> {
        let Some(keys) = &self.keys else {
            return Ok(Caller {
                key_id: ANONYMOUS.to_string(),
                role: Role::Admin,
            });
        };
        let value = authorization.ok_or(AuthFailure::Missing)?;
        let secret = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AuthFailure::Invalid)?
            .trim();
        let presented = hash_secret(secret);
        // Compare with every key, whatever matched, so the time taken does
        // not depend on which key (if any) matched.
        let mut found: Option<&Key> = None;
        for key in keys {
            if constant_time_eq(&key.hash, &presented) {
                found = Some(key);
            }
        }
        found
            .map(|k| Caller {
                key_id: k.id.clone(),
                role: k.role,
            })
            .ok_or(AuthFailure::Invalid)
    }
}

/// SHA-256 of a secret, the form stored in the key file.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> KeyStore {
        let text = format!(
            "# clinic keys\nalice submit {}\nbob read {}  # reader\nroot admin {}\n",
            hex(&hash_secret("s1")),
            hex(&hash_secret("s2")),
            hex(&hash_secret("s3"))
        );
        KeyStore::parse(&text, Path::new("keys.txt")).unwrap()
    }

    #[test]
    fn bearer_secrets_map_to_their_key_and_role() {
        let s = store();
        let c = s.authenticate(Some("Bearer s1")).unwrap();
        assert_eq!((c.key_id.as_str(), c.role), ("alice", Role::Submit));
        assert_eq!(s.authenticate(Some("Bearer s2")).unwrap().role, Role::Read);
        assert_eq!(s.authenticate(None), Err(AuthFailure::Missing));
        assert_eq!(
            s.authenticate(Some("Bearer nope")),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(s.authenticate(Some("Basic s1")), Err(AuthFailure::Invalid));
        assert!(c.may_see("alice") && !c.may_see("bob"));
        assert!(s.authenticate(Some("Bearer s3")).unwrap().may_see("bob"));
    }

    #[test]
    fn bad_key_files_name_the_line() {
        let err = KeyStore::parse("a superuser 00\n", Path::new("k")).unwrap_err();
        assert!(
            err.to_string().contains("line 1: role `superuser`"),
            "{err}"
        );
        let err = KeyStore::parse("a read 00\n", Path::new("k")).unwrap_err();
        assert!(err.to_string().contains("64 hexadecimal"), "{err}");
        let err = KeyStore::parse("# nothing\n", Path::new("k")).unwrap_err();
        assert!(err.to_string().contains("no API key"), "{err}");
    }
}
