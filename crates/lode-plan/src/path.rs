//! Paths into a plan, written with the proto field names:
//! `relations[0].root.input.aggregate.measures[1]`.

use std::fmt;

/// A location in a plan. Cheap to extend; each step returns a new path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PlanPath(String);

impl PlanPath {
    /// The plan itself.
    pub fn root() -> Self {
        PlanPath(String::new())
    }

    /// `self.name`
    pub fn field(&self, name: &str) -> Self {
        if self.0.is_empty() {
            PlanPath(name.to_string())
        } else {
            PlanPath(format!("{}.{name}", self.0))
        }
    }

    /// `self.name[index]`
    pub fn index(&self, name: &str, index: usize) -> Self {
        let mut path = self.field(name);
        path.0.push_str(&format!("[{index}]"));
        path
    }

    pub fn as_str(&self) -> &str {
        if self.0.is_empty() { "<plan>" } else { &self.0 }
    }
}

impl fmt::Display for PlanPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_proto_style_paths() {
        let p = PlanPath::root()
            .index("relations", 0)
            .field("root")
            .field("input")
            .field("aggregate")
            .index("measures", 1);
        assert_eq!(
            p.to_string(),
            "relations[0].root.input.aggregate.measures[1]"
        );
        assert_eq!(PlanPath::root().to_string(), "<plan>");
    }
}
