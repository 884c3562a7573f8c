//! The database URL that selects a backend. An unknown scheme is refused
//! outright: silently creating an empty database where the operator expected
//! their data is how audits fail.

use std::fmt;
use std::path::PathBuf;

use tutela_domain::Secret;

/// Whether opening a store may create a new, empty database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// `tutela serve`: the embedded database is created on first start.
    CreateIfMissing,
    /// Offline tools (verification, export): a missing database is an error.
    MustExist,
}

/// A parsed database URL. `Debug` never shows a PostgreSQL password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite:PATH` or `sqlite://PATH`: the embedded database file.
    Sqlite {
        /// Path of the database file.
        path: PathBuf,
    },
    /// `postgres://…` or `postgresql://…`, passed to the driver unchanged.
    Postgres {
        /// The full URL; it may hold a password, hence secret.
        url: Secret,
    },
}

/// Why a database URL was refused. Messages name the scheme only, never the
/// rest of the URL (which may hold a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    /// The URL has a scheme Tutela has no backend for.
    #[error(
        "database URL scheme `{scheme}` is not supported: use `sqlite:PATH` (embedded) or `postgres://…`"
    )]
    UnknownScheme {
        /// The scheme as given (lower-cased, at most 32 characters).
        scheme: String,
    },
    /// The URL has no scheme at all.
    #[error("database URL has no scheme: use `sqlite:PATH` (embedded) or `postgres://…`")]
    MissingScheme,
    /// `sqlite:` with nothing after it.
    #[error("database URL `sqlite:` names no file: use `sqlite:PATH`")]
    MissingSqlitePath,
}

impl DatabaseUrl {
    /// Parses a database URL, refusing unknown schemes.
    pub fn parse(value: &str) -> Result<Self, DatabaseUrlError> {
        let value = value.trim();
        let Some((scheme, rest)) = value.split_once(':') else {
            return Err(DatabaseUrlError::MissingScheme);
        };
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => {
                // `sqlite://x` and `sqlite:x` both name the file `x`;
                // `sqlite:///abs` names `/abs`.
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err(DatabaseUrlError::MissingSqlitePath);
                }
                Ok(Self::Sqlite {
                    path: PathBuf::from(path),
                })
            }
            "postgres" | "postgresql" => Ok(Self::Postgres {
                url: Secret::new(value),
            }),
            "" => Err(DatabaseUrlError::MissingScheme),
            _ if scheme.len() <= 32
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
            {
                Err(DatabaseUrlError::UnknownScheme { scheme })
            }
            // Something like a Windows path or a typo without a real scheme:
            // do not echo it, it could be anything.
            _ => Err(DatabaseUrlError::MissingScheme),
        }
    }

    /// The URL of the embedded database file `path`.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Self::Sqlite { path: path.into() }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { path } => write!(f, "sqlite:{}", path.display()),
            Self::Postgres { .. } => f.write_str("postgres://[redacted]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_forms() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:./data/t.db").unwrap(),
            DatabaseUrl::sqlite("./data/t.db")
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/t.db").unwrap(),
            DatabaseUrl::sqlite("/var/lib/t.db")
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:").unwrap_err(),
            DatabaseUrlError::MissingSqlitePath
        );
    }

    #[test]
    fn unknown_schemes_are_refused_without_echoing_the_url() {
        let err = DatabaseUrl::parse("mysql://root:s3cret@db/tutela").unwrap_err();
        assert_eq!(
            err,
            DatabaseUrlError::UnknownScheme {
                scheme: "mysql".into()
            }
        );
        assert!(!err.to_string().contains("s3cret"));
        assert_eq!(
            DatabaseUrl::parse("/var/lib/tutela.db").unwrap_err(),
            DatabaseUrlError::MissingScheme
        );
    }

    #[test]
    fn postgres_password_never_in_debug() {
        let url = DatabaseUrl::parse("postgresql://u:s3cret@localhost/db").unwrap();
        assert!(!format!("{url:?}").contains("s3cret"));
    }
}
