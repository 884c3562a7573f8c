//! Configuration: layering, and errors that name the setting and its source.

use std::io::Write;

use tutela::config::{ConfigError, Settings, Sources};
use tutela_storage::DatabaseUrl;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn file(contents: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, path) = crate::support::temp_path("tutela.toml");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(contents.as_bytes())
        .unwrap();
    (dir, path)
}

#[test]
fn defaults_are_the_embedded_ones() {
    let settings = Settings::load(&Sources::default()).unwrap();
    assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(settings.data_dir, std::path::PathBuf::from("./tutela-data"));
    assert_eq!(
        settings.database,
        DatabaseUrl::sqlite("./tutela-data/tutela.db")
    );
    assert!(settings.tls.is_none());
}

#[test]
fn layers_override_in_order_file_env_flags() {
    let (_dir, path) = file(
        "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/from-file\"\n[http]\nrequest_timeout_secs = 5\n",
    );
    let settings = Settings::load(&Sources {
        file: Some(path.clone()),
        env: env(&[
            ("TUTELA_LISTEN", "127.0.0.1:9001"),
            ("TUTELA_HTTP__BODY_LIMIT_BYTES", "2048"),
            ("HOME", "/root"),
        ]),
        flags: vec![("listen", "127.0.0.1:9002".into())],
    })
    .unwrap();
    assert_eq!(
        settings.listen.to_string(),
        "127.0.0.1:9002",
        "flag beats env beats file"
    );
    assert_eq!(
        settings.data_dir,
        std::path::PathBuf::from("/srv/from-file")
    );
    assert_eq!(settings.http.body_limit_bytes, 2048);
    assert_eq!(settings.http.request_timeout.as_secs(), 5);
    assert_eq!(
        settings.database,
        DatabaseUrl::sqlite("/srv/from-file/tutela.db")
    );
}

#[test]
fn errors_name_the_setting_and_where_it_came_from() {
    let err = Settings::load(&Sources {
        env: env(&[("TUTELA_LISTEN", "not-an-address")]),
        ..Sources::default()
    })
    .unwrap_err();
    let ConfigError::Invalid {
        setting, origin, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(
        (setting.as_str(), origin.as_str()),
        ("listen", "environment variable TUTELA_LISTEN")
    );
    assert!(
        !err.to_string().contains("not-an-address"),
        "values are not echoed: {err}"
    );

    let (_dir, path) = file("[http]\nbody_limit_bytes = 10\n");
    let err = Settings::load(&Sources {
        file: Some(path.clone()),
        ..Sources::default()
    })
    .unwrap_err();
    let ConfigError::Invalid {
        setting,
        origin,
        reason,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(setting, "http.body_limit_bytes");
    assert_eq!(origin, &format!("file {}", path.display()));
    assert!(reason.contains("between"), "{reason}");

    let err = Settings::load(&Sources {
        flags: vec![("listen", "127.0.0.1:99999".into())],
        ..Sources::default()
    })
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("`listen` (from command-line flag --listen)"),
        "{err}"
    );
}

#[test]
fn unknown_settings_are_refused_with_their_source() {
    let (_dir, path) = file("listne = \"127.0.0.1:1\"\n");
    let err = Settings::load(&Sources {
        file: Some(path.clone()),
        ..Sources::default()
    })
    .unwrap_err();
    assert_eq!(
        err,
        ConfigError::Unknown {
            setting: "listne".into(),
            origin: format!("file {}", path.display())
        }
    );

    let err = Settings::load(&Sources {
        env: env(&[("TUTELA_HTTP__TIMEOUT", "3")]),
        ..Sources::default()
    })
    .unwrap_err();
    assert_eq!(
        err,
        ConfigError::Unknown {
            setting: "http.timeout".into(),
            origin: "environment variable TUTELA_HTTP__TIMEOUT".into()
        }
    );
    // Variables reserved for tooling are not settings.
    Settings::load(&Sources {
        env: env(&[("TUTELA_TEST_POSTGRES_URL", "x"), ("TUTELA_CONFIG", "y")]),
        ..Sources::default()
    })
    .unwrap();
}

#[test]
fn unknown_database_scheme_is_refused_without_leaking_the_password() {
    let err = Settings::load(&Sources {
        env: env(&[(
            "TUTELA_DATABASE_URL",
            "mysql://root:hunter2@db.internal/tutela",
        )]),
        ..Sources::default()
    })
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("database_url") && text.contains("`mysql`"),
        "{text}"
    );
    assert!(text.contains("TUTELA_DATABASE_URL"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let settings = Settings::load(&Sources {
        env: env(&[(
            "TUTELA_DATABASE_URL",
            "postgres://tutela:hunter2@db.internal/tutela",
        )]),
        ..Sources::default()
    })
    .unwrap();
    let printed = format!("{settings:?} {settings:#?}");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(printed.contains("postgres://[redacted]"), "{printed}");
}

#[test]
fn missing_file_and_broken_toml_are_named() {
    let err = Settings::load(&Sources {
        file: Some("/nonexistent/tutela.toml".into()),
        ..Sources::default()
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/tutela.toml"),
        "{err}"
    );

    let (_dir, path) = file("listen = \n");
    let err = Settings::load(&Sources {
        file: Some(path.clone()),
        ..Sources::default()
    })
    .unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );

    // A syntax error must not quote the line: it may hold the password.
    let (_dir, path) = file("database_url = \"postgres://u:hunter2@db/t\n");
    let err = Settings::load(&Sources {
        file: Some(path.clone()),
        ..Sources::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("line 1") && err.contains("invalid basic string"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn tls_files_enable_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert, "x").unwrap();
    std::fs::write(&key, "x").unwrap();
    let settings = Settings::load(&Sources {
        env: env(&[
            ("TUTELA_TLS__CERT_PATH", cert.to_str().unwrap()),
            ("TUTELA_TLS__KEY_PATH", key.to_str().unwrap()),
        ]),
        ..Sources::default()
    })
    .unwrap();
    assert!(settings.tls.is_some() && settings.http.hsts);
}

#[test]
fn tls_files_must_exist() {
    let (_dir, path) =
        file("[tls]\ncert_path = \"/nonexistent/cert.pem\"\nkey_path = \"/nonexistent/key.pem\"\n");
    let err = Settings::load(&Sources {
        file: Some(path),
        ..Sources::default()
    })
    .unwrap_err();
    let ConfigError::Invalid { setting, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(setting, "tls.cert_path");
}

#[test]
fn the_shipped_example_configuration_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tutela.example.toml");
    let settings = Settings::load(&Sources {
        file: Some(path),
        ..Sources::default()
    })
    .unwrap();
    assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(settings.http.body_limit_bytes, 1_048_576);
    assert_eq!(settings.login, tutela_domain::LoginPolicy::default());
}

#[test]
fn sign_in_rules_are_settings_with_bounds() {
    let settings = Settings::load(&Sources {
        env: env(&[
            ("TUTELA_AUTH__ACCOUNT_FAILURES", "3"),
            ("TUTELA_AUTH__LOCKOUT_SECS", "3600"),
        ]),
        ..Sources::default()
    })
    .unwrap();
    assert_eq!(settings.login.account_failures, 3);
    assert_eq!(settings.login.lockout, jiff::SignedDuration::from_hours(1));
    assert_eq!(settings.login.address_failures, 50, "default kept");
    let err = Settings::load(&Sources {
        env: env(&[("TUTELA_AUTH__ACCOUNT_FAILURES", "0")]),
        ..Sources::default()
    })
    .unwrap_err();
    let ConfigError::Invalid { setting, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(setting, "auth.account_failures");
}

#[test]
fn consent_voiding_rules_are_a_table_the_operator_can_replace() {
    let defaults = Settings::load(&Sources::default()).unwrap();
    assert_eq!(
        defaults.voiding_rules,
        tutela_domain::default_voiding_rules()
    );
    let (_dir, path) = file(
        "[[consent.voiding_rules]]\nregistry = \"fr_bloctel\"\nchannels = [\"phone\", \"sms\"]\n\
         direct_marketing_only = true\nsource = \"Loi 2025-594\"\n",
    );
    let settings = Settings::load(&Sources {
        file: Some(path),
        ..Sources::default()
    })
    .unwrap();
    assert_eq!(settings.voiding_rules.len(), 1);
    assert_eq!(
        settings.voiding_rules[0].registry,
        tutela_domain::Registry::FrBloctel
    );
    for (bad, named) in [
        (
            "[[consent.voiding_rules]]\nregistry = \"xx_nowhere\"\nchannels = [\"phone\"]\ndirect_marketing_only = true\nsource = \"s\"\n",
            "voiding_rules",
        ),
        (
            "[[consent.voiding_rules]]\nregistry = \"it_rpo\"\nchannels = []\ndirect_marketing_only = true\nsource = \"s\"\n",
            "consent.voiding_rules[0].channels",
        ),
    ] {
        let (_dir, path) = file(bad);
        let err = Settings::load(&Sources {
            file: Some(path),
            ..Sources::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains(named), "{err}");
    }
}

#[test]
fn the_recordings_key_provider_is_checked_and_its_token_never_printed() {
    let err = Settings::load(&Sources {
        env: env(&[("TUTELA_RECORDINGS__KEY_PROVIDER", "kms")]),
        ..Sources::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("recordings.key_provider"), "{err}");
    let transit = Settings::load(&Sources {
        env: env(&[
            ("TUTELA_RECORDINGS__KEY_PROVIDER", "vault-transit"),
            ("TUTELA_RECORDINGS__VAULT_TOKEN", "s.hunter2"),
        ]),
        ..Sources::default()
    });
    if cfg!(feature = "vault-transit") {
        // The address is required; the token never shows.
        let err = transit.unwrap_err().to_string();
        assert!(err.contains("recordings.vault_address"), "{err}");
        let settings = Settings::load(&Sources {
            env: env(&[
                ("TUTELA_RECORDINGS__KEY_PROVIDER", "vault-transit"),
                (
                    "TUTELA_RECORDINGS__VAULT_ADDRESS",
                    "https://vault.internal:8200",
                ),
                ("TUTELA_RECORDINGS__VAULT_TOKEN", "s.hunter2"),
            ]),
            ..Sources::default()
        })
        .unwrap();
        let printed = format!("{settings:?}");
        assert!(printed.contains("vault.internal"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
    } else {
        let err = transit.unwrap_err().to_string();
        assert!(err.contains("--features vault-transit"), "{err}");
    }
}

#[test]
fn smtp_for_codes_needs_a_sender_and_never_prints_its_password() {
    let err = Settings::load(&Sources {
        env: env(&[(
            "TUTELA_REQUESTS__SMTP_URL",
            "smtps://relay:hunter2@mail.example.com",
        )]),
        ..Sources::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("requests.smtp_from"), "{err}");
    let settings = Settings::load(&Sources {
        env: env(&[
            (
                "TUTELA_REQUESTS__SMTP_URL",
                "smtps://relay:hunter2@mail.example.com",
            ),
            ("TUTELA_REQUESTS__SMTP_FROM", "privacy@cc.example"),
        ]),
        ..Sources::default()
    })
    .unwrap();
    let printed = format!("{settings:?}");
    assert!(printed.contains("privacy@cc.example"), "{printed}");
    assert!(!printed.contains("hunter2"), "{printed}");
}
