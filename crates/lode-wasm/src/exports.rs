//! The functions of the `extension` world a module exports, each resolved once per module
//! and called by index on its instances.

use crate::wit;

/// Every function of the `extension` world, in the order of [`EXPORTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Export {
    Describe,
    BindScalar,
    BindAggregate,
    BindTable,
    BindOperator,
    ScalarOpen,
    ScalarCall,
    AccumulatorOpen,
    AccumulatorUpdate,
    AccumulatorMerge,
    AccumulatorState,
    AccumulatorEvaluate,
    GeneratorOpen,
    GeneratorNext,
    OperatorOpen,
    OperatorPush,
    OperatorFinish,
}

pub(crate) const EXPORT_COUNT: usize = 17;

/// Interface and function name of each [`Export`].
pub(crate) const EXPORTS: [(&str, &str); EXPORT_COUNT] = [
    (wit::INTERFACE_MODULE, "describe"),
    (wit::INTERFACE_MODULE, "bind-scalar"),
    (wit::INTERFACE_MODULE, "bind-aggregate"),
    (wit::INTERFACE_MODULE, "bind-table"),
    (wit::INTERFACE_MODULE, "bind-operator"),
    (wit::INTERFACE_SCALAR, "[static]function.open"),
    (wit::INTERFACE_SCALAR, "[method]function.call"),
    (wit::INTERFACE_AGGREGATE, "[static]accumulator.open"),
    (wit::INTERFACE_AGGREGATE, "[method]accumulator.update"),
    (wit::INTERFACE_AGGREGATE, "[method]accumulator.merge"),
    (wit::INTERFACE_AGGREGATE, "[method]accumulator.state"),
    (wit::INTERFACE_AGGREGATE, "[method]accumulator.evaluate"),
    (wit::INTERFACE_TABLE, "[static]generator.open"),
    (wit::INTERFACE_TABLE, "[method]generator.next"),
    (wit::INTERFACE_OPERATOR, "[static]instance.open"),
    (wit::INTERFACE_OPERATOR, "[method]instance.push"),
    (wit::INTERFACE_OPERATOR, "[method]instance.finish"),
];

impl Export {
    pub(crate) fn display(self) -> String {
        let (interface, function) = EXPORTS[self as usize];
        format!("{interface}#{function}")
    }
}
