//! Helpers for a plan's extension declarations, shared by everything that links them:
//! compound function names and URN anchors.

use std::collections::BTreeMap;

use substrait::proto::Plan;
use substrait::proto::extensions::SimpleExtensionUrn;
use substrait::proto::extensions::simple_extension_declaration::MappingType;

/// A function declaration's name without its signature suffix: `add:i64_i64` -> `add`.
pub fn function_name(compound: &str) -> &str {
    compound.split_once(':').map_or(compound, |(name, _)| name)
}

/// The function anchor after the highest one the plan declares (0 for none); `None` when it
/// declares `u32::MAX`, which leaves none free.
pub fn next_function_anchor(plan: &Plan) -> Option<u32> {
    plan.extensions
        .iter()
        .filter_map(|d| match &d.mapping_type {
            Some(MappingType::ExtensionFunction(f)) => Some(f.function_anchor),
            _ => None,
        })
        .max()
        .map_or(Some(0), |a| a.checked_add(1))
}

/// The URN anchors of a plan as it was when this was made, handing out new anchors for URNs it
/// does not declare yet. [`UrnAnchors::declare_new`] adds those to the plan.
pub struct UrnAnchors {
    declared: Vec<u32>,
    anchors: BTreeMap<String, u32>,
    next: u32,
    added: Vec<SimpleExtensionUrn>,
}

impl UrnAnchors {
    pub fn of(plan: &Plan) -> Self {
        let declared: Vec<u32> = plan
            .extension_urns
            .iter()
            .map(|u| u.extension_urn_anchor)
            .collect();
        UrnAnchors {
            next: declared.iter().copied().max().unwrap_or(0) + 1,
            anchors: plan
                .extension_urns
                .iter()
                .map(|u| (u.urn.clone(), u.extension_urn_anchor))
                .collect(),
            declared,
            added: Vec::new(),
        }
    }

    /// True when `anchor` names a URN the plan declared (a declaration pointing anywhere else
    /// is not linked yet).
    pub fn was_declared(&self, anchor: u32) -> bool {
        self.declared.contains(&anchor)
    }

    /// The anchor of `urn`, declared or new.
    pub fn anchor(&mut self, urn: &str) -> u32 {
        if let Some(anchor) = self.anchors.get(urn) {
            return *anchor;
        }
        let anchor = self.next;
        self.next += 1;
        self.anchors.insert(urn.to_string(), anchor);
        self.added.push(SimpleExtensionUrn {
            extension_urn_anchor: anchor,
            urn: urn.to_string(),
        });
        anchor
    }

    /// Declares the URNs that received new anchors.
    pub fn declare_new(self, plan: &mut Plan) {
        plan.extension_urns.extend(self.added);
    }
}
