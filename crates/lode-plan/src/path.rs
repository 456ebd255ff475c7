//! Paths into a plan, written with the proto field names:
//! `relations[0].root.input.aggregate.measures[1]`.
//!
//! The validator extends a path at every field it descends into, and almost none of them end
//! up in a diagnostic, so a step costs one small allocation and the text is only written when
//! the path is displayed.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A location in a plan. Cheap to extend and to clone; each step returns a new path that
/// shares its parent.
#[derive(Clone, Default)]
pub struct PlanPath(Option<Arc<Step>>);

/// The last step of a path: `parent.name` or `parent.name[index]`.
struct Step {
    parent: PlanPath,
    name: &'static str,
    index: Option<usize>,
}

impl PlanPath {
    /// The plan itself.
    pub fn root() -> Self {
        PlanPath(None)
    }

    /// `self.name`
    pub fn field(&self, name: &'static str) -> Self {
        self.step(name, None)
    }

    /// `self.name[index]`
    pub fn index(&self, name: &'static str, index: usize) -> Self {
        self.step(name, Some(index))
    }

    fn step(&self, name: &'static str, index: Option<usize>) -> Self {
        PlanPath(Some(Arc::new(Step {
            parent: self.clone(),
            name,
            index,
        })))
    }

    /// This location in the plan's proto3 JSON form, as a JSON pointer
    /// (`/relations/0/root/input/aggregate/measures/1`): the same fields, in lowerCamelCase.
    pub(crate) fn json_pointer(&self) -> String {
        let mut pointer = String::new();
        for step in self.steps() {
            pointer.push('/');
            let mut upper = false;
            for c in step.name.chars() {
                if c == '_' {
                    upper = true;
                } else if upper {
                    pointer.push(c.to_ascii_uppercase());
                    upper = false;
                } else {
                    pointer.push(c);
                }
            }
            if let Some(index) = step.index {
                pointer.push_str(&format!("/{index}"));
            }
        }
        pointer
    }

    /// The steps from the plan down to this location.
    fn steps(&self) -> Vec<&Step> {
        let mut steps = Vec::new();
        let mut at = self.0.as_deref();
        while let Some(step) = at {
            steps.push(step);
            at = step.parent.0.as_deref();
        }
        steps.reverse();
        steps
    }
}

impl fmt::Display for PlanPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps = self.steps();
        if steps.is_empty() {
            return f.write_str("<plan>");
        }
        for (i, step) in steps.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(step.name)?;
            if let Some(index) = step.index {
                write!(f, "[{index}]")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for PlanPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlanPath({self})")
    }
}

/// Paths are equal when they name the same location, however they were built.
impl PartialEq for PlanPath {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.steps(), other.steps());
        a.len() == b.len()
            && a.iter()
                .zip(&b)
                .all(|(x, y)| x.name == y.name && x.index == y.index)
    }
}

impl Eq for PlanPath {}

impl Hash for PlanPath {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for step in self.steps() {
            step.name.hash(state);
            step.index.hash(state);
        }
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

    #[test]
    fn paths_are_json_pointers_too() {
        let path = PlanPath::root()
            .index("relations", 0)
            .field("root")
            .field("input")
            .field("aggregate")
            .index("measures", 1)
            .field("measure")
            .field("scalar_function");
        assert_eq!(
            path.json_pointer(),
            "/relations/0/root/input/aggregate/measures/1/measure/scalarFunction"
        );
        assert_eq!(path, path.clone());
    }
}
