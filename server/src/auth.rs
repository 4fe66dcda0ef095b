//! Accounts: roles, who is asking ([`CurrentUser`] and the roles they hold), and passwords
//! hashed with argon2id. Hashing is deliberately slow, so callers on the async runtime run
//! it on a blocking thread ([`hash_password_blocking`]).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

pub use relabel_core::role::Role;

use crate::domain::Project;

/// One role a user holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Membership {
    /// The project, or `None` for every project.
    pub project_id: Option<i64>,
    /// The role.
    pub role: Role,
}

/// The logged-in caller, with their roles.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// User id.
    pub id: i64,
    /// User name.
    pub name: String,
    /// Roles held.
    pub memberships: Vec<Membership>,
}

impl CurrentUser {
    /// Whether the user holds one of `roles` in `project` (a site admin holds admin everywhere).
    pub fn holds(&self, project: &Project, roles: &[Role]) -> bool {
        self.holds_in(project.id, roles)
    }

    /// [`Self::holds`], for a project known by its id.
    pub fn holds_in(&self, project_id: i64, roles: &[Role]) -> bool {
        self.memberships.iter().any(|m| {
            roles.contains(&m.role)
                && (m.project_id == Some(project_id)
                    || (m.project_id.is_none() && m.role == Role::Admin))
        })
    }

    /// The roles the user holds in the project, a site admin's included, in a fixed order.
    pub fn roles_in(&self, project: &Project) -> Vec<Role> {
        self.roles_in_id(project.id)
    }

    /// [`Self::roles_in`], for a project known by its id.
    pub fn roles_in_id(&self, project_id: i64) -> Vec<Role> {
        [
            Role::Admin,
            Role::GuidelineEditor,
            Role::Reviewer,
            Role::Annotator,
        ]
        .into_iter()
        .filter(|r| self.holds_in(project_id, &[*r]))
        .collect()
    }

    /// Whether the user may see the project at all.
    pub fn is_member(&self, project: &Project) -> bool {
        self.is_member_of(project.id)
    }

    /// [`Self::is_member`], for a project known by its id.
    pub fn is_member_of(&self, project_id: i64) -> bool {
        self.memberships.iter().any(|m| {
            m.project_id == Some(project_id) || (m.project_id.is_none() && m.role == Role::Admin)
        })
    }
}

/// Why a password or hash could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    /// Shorter than [`MIN_PASSWORD_CHARS`].
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    /// The hashing library failed (it should not).
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Hashes `password` with argon2id and a fresh random salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    let salt_bytes: [u8; 16] = rand::rng().random();
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// [`hash_password`] on a blocking thread, for async callers.
pub async fn hash_password_blocking(password: String) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| PasswordError::Hashing(e.to_string()))?
}

/// Whether `password` matches the stored `hash`; a malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random password of 20 letters and digits, for accounts the CLI or demo creates.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "the salt must differ");
        assert!(verify_password("correct horse battery", &a));
        assert!(!verify_password("correct horse battery!", &a));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(hash_password("short"), Err(PasswordError::TooShort));
    }

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let a = generate_password();
        assert_eq!(a.len(), 20);
        assert_ne!(a, generate_password());
        assert!(hash_password(&a).is_ok());
    }
}
