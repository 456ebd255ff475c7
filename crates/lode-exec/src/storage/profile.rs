//! AWS profiles: the settings the AWS CLI keeps in `~/.aws/credentials` and `~/.aws/config`,
//! for those the `AWS_*` variables leave unset. `object_store` reads only the variables.
//!
//! The profile is `AWS_PROFILE`'s, or `default`; the files are `AWS_SHARED_CREDENTIALS_FILE`
//! and `AWS_CONFIG_FILE`, or those under `~/.aws`. Read: `aws_access_key_id`,
//! `aws_secret_access_key`, `aws_session_token` (credentials file, or config file), `region`
//! and `endpoint_url` (config file, where the section is `[profile NAME]` except for
//! `[default]`).

use std::collections::HashMap;
use std::path::PathBuf;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};

/// `builder` with the profile's settings wherever the environment gave none.
pub(super) fn apply(mut builder: AmazonS3Builder) -> AmazonS3Builder {
    let name = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    let credentials = file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
        .map(|text| section(&text, &name))
        .unwrap_or_default();
    let config_section = if name == "default" {
        name.clone()
    } else {
        format!("profile {name}")
    };
    let config = file("AWS_CONFIG_FILE", "config")
        .map(|text| section(&text, &config_section))
        .unwrap_or_default();
    let setting = |key: &str| credentials.get(key).or_else(|| config.get(key));
    let keys = [
        (AmazonS3ConfigKey::AccessKeyId, "aws_access_key_id"),
        (AmazonS3ConfigKey::SecretAccessKey, "aws_secret_access_key"),
        (AmazonS3ConfigKey::Token, "aws_session_token"),
        (AmazonS3ConfigKey::Region, "region"),
        (AmazonS3ConfigKey::Endpoint, "endpoint_url"),
    ];
    for (key, name) in keys {
        if builder.get_config_value(&key).is_none()
            && let Some(value) = setting(name)
        {
            builder = builder.with_config(key, value);
        }
    }
    builder
}

/// The text of the file `variable` names, or of `~/.aws/<default>`.
fn file(variable: &str, default: &str) -> Option<String> {
    let path = match std::env::var_os(variable) {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME")?)
            .join(".aws")
            .join(default),
    };
    std::fs::read_to_string(path).ok()
}

/// The `key = value` lines of INI section `[name]`.
fn section(text: &str, name: &str) -> HashMap<String, String> {
    let mut values = HashMap::new();
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.trim() == name;
            continue;
        }
        if inside && let Some((key, value)) = line.split_once('=') {
            values.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_holds_its_own_keys_only() {
        let text = "[default]\naws_access_key_id = A\n# a comment\n[profile minio]\nregion=eu-west-1\nendpoint_url = http://127.0.0.1:9000\n";
        assert_eq!(
            section(text, "default")
                .get("aws_access_key_id")
                .map(String::as_str),
            Some("A")
        );
        let minio = section(text, "profile minio");
        assert_eq!(minio.get("region").map(String::as_str), Some("eu-west-1"));
        assert_eq!(
            minio.get("endpoint_url").map(String::as_str),
            Some("http://127.0.0.1:9000")
        );
        assert!(!minio.contains_key("aws_access_key_id"));
    }
}
