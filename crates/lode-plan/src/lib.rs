//! # lode-plan
//!
//! Everything Lode does with a Substrait plan before it runs: reading it (binary protobuf or
//! JSON, auto-detected, older URI-based plans upgraded to URNs), naming places in it
//! ([`PlanPath`]) and validating it into coded [`Diagnostic`]s, deriving the type of every
//! relation's fields on the way ([`analyze_decoded`]).
//!
//! ```
//! let decoded = lode_plan::decode_plan(br#"{"relations": []}"#).unwrap();
//! let diagnostics = lode_plan::validate_decoded(&decoded, None);
//! assert_eq!(diagnostics[0].code.as_str(), "L001"); // no relations
//! ```

pub mod declarations;
mod decode;
mod diagnostic;
pub mod dialect;
mod error;
pub mod ext;
pub mod legacy;
pub mod link;
mod overload;
mod path;
pub mod signature;
pub mod standard;
pub mod types;
mod validate;

pub use decode::{DecodedPlan, PlanFormat, decode_plan, encode_plan, read_plan_file};
pub use diagnostic::{Code, Diagnostic, Severity, SeverityOverrides};
pub use error::{PlanError, Result};
pub use path::PlanPath;
pub use types::DataType;
pub use validate::{
    Analysis, Call, ExecutorSupport, OutputColumn, analyze_decoded, validate_decoded, validate_plan,
};

/// Re-exported so users of this crate name the same proto types.
pub use substrait;
