//! Object stores' errors told in a user's terms: what is missing, which setting to change.
//! A leaf of the crate: the error type itself asks it whether an error is a store's.

use datafusion::error::DataFusionError;

/// `error` told in a user's terms where it is a store's answer: a missing object or bucket,
/// refused credentials and the settings that hold them, a store that cannot be reached.
/// Other errors pass unchanged.
pub(crate) fn explain(error: DataFusionError) -> DataFusionError {
    match store_problem(&error) {
        Some(problem) => DataFusionError::Execution(problem),
        None => error,
    }
}

/// What `error` means: a store's answer told as [`explain_store_error`] tells it, or the
/// error's own text.
pub(crate) fn describe(error: &DataFusionError) -> String {
    store_problem(error).unwrap_or_else(|| error.to_string())
}

/// Whether `error` is an object store's.
pub(crate) fn is_store_error(error: &DataFusionError) -> bool {
    matches!(error.find_root(), DataFusionError::ObjectStore(_))
}

fn store_problem(error: &DataFusionError) -> Option<String> {
    match error.find_root() {
        DataFusionError::ObjectStore(e) => Some(explain_store_error(e)),
        _ => None,
    }
}

/// What an object store's error means and which setting to change.
pub(crate) fn explain_store_error(error: &object_store::Error) -> String {
    let text = error.to_string();
    let settings = match error {
        object_store::Error::Generic { store, .. } => settings_of(store),
        _ => settings_of(&text),
    };
    match error {
        object_store::Error::NotFound { path, .. } if text.contains("NoSuchBucket") => {
            format!(
                "the bucket of `{path}` does not exist ({})",
                first_line(&text)
            )
        }
        object_store::Error::NotFound { path, .. } => format!("no object `{path}` in the store"),
        object_store::Error::PermissionDenied { path, .. }
        | object_store::Error::Unauthenticated { path, .. } => format!(
            "the store refused access to `{path}`: check {settings} ({})",
            first_line(&text)
        ),
        _ if text.contains("NoSuchBucket") => {
            format!("the bucket does not exist ({})", first_line(&text))
        }
        _ if text.contains("InvalidAccessKeyId") || text.contains("SignatureDoesNotMatch") => {
            format!(
                "the store refused the credentials: check {settings} ({})",
                first_line(&text)
            )
        }
        _ if text.contains("error sending request") || text.contains("Connection refused") => {
            format!(
                "cannot reach the store: check its endpoint ({}) and that it is running ({})",
                endpoint_setting(&text),
                first_line(&text)
            )
        }
        _ => text,
    }
}

/// The settings that hold a store's credentials, by the store's name in an error.
fn settings_of(text: &str) -> &'static str {
    if text.contains("GCS") || text.contains("Google") {
        "GOOGLE_SERVICE_ACCOUNT or GOOGLE_APPLICATION_CREDENTIALS"
    } else if text.contains("Azure") || text.contains("MicrosoftAzure") {
        "AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY (or AZURE_STORAGE_SAS_KEY)"
    } else {
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the profile AWS_PROFILE names)"
    }
}

fn endpoint_setting(text: &str) -> &'static str {
    if text.contains("GCS") {
        "GOOGLE_STORAGE_URL"
    } else if text.contains("Azure") {
        "AZURE_ENDPOINT"
    } else {
        "AWS_ENDPOINT_URL"
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
