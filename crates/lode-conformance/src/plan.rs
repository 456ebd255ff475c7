//! A test case as a Substrait plan, the way any producer would write it:
//!
//! - scalar: `Project[f(args), expected]` over a one-row, zero-column `VirtualTable`;
//! - aggregate: `Project[expected]` over `Aggregate[f(columns)]` over a `VirtualTable` holding
//!   the case's table.
//!
//! The expected value is a second output column, so Lode turns it into Arrow the same way it
//! turns any literal, and a result written as a call (`= add(add(1, 2), 3)`) is evaluated too.
//! Functions are declared by URN with compound names built from the argument types
//! (`add:i8_i8`); options become `FunctionOption`s.

use std::collections::HashMap;

use substrait::proto::aggregate_rel::Measure;
use substrait::proto::expression::field_reference::{
    LambdaParameterReference, ReferenceType, RootType,
};
use substrait::proto::expression::reference_segment::{self, StructField};
use substrait::proto::expression::{
    FieldReference, Lambda, Literal, ReferenceSegment, RexType, ScalarFunction, nested,
};
use substrait::proto::extensions::simple_extension_declaration::{
    ExtensionFunction, ExtensionType, MappingType,
};
use substrait::proto::extensions::{SimpleExtensionDeclaration, SimpleExtensionUrn};
use substrait::proto::function_argument::ArgType;
use substrait::proto::read_rel::{ReadType, VirtualTable};
use substrait::proto::rel::RelType;
use substrait::proto::{
    AggregateFunction, AggregateRel, AggregationPhase, Expression, FunctionArgument,
    FunctionOption, NamedStruct, Plan, PlanRel, ProjectRel, ReadRel, Rel, RelRoot, Type, Version,
    aggregate_function::AggregationInvocation, plan_rel,
};

use crate::error::LiteralError;
use crate::extensions::ExtensionIndex;
use crate::literal::literal;
use crate::syntax::{Call, CaseSyntax, Expected, Expr, TableDefinition};
use crate::testfile::{TestFile, TestKind};
use crate::types::{Kind, TestType};

/// Why a case has no plan.
pub type BuildError = LiteralError;

fn invalid(message: impl Into<String>) -> BuildError {
    LiteralError::Invalid(message.into())
}

fn unsupported(message: impl Into<String>) -> BuildError {
    LiteralError::Unsupported(message.into())
}

/// The plan for one case. Its root has the columns `result` and, unless the case expects an
/// error or anything at all, `expected`.
pub fn build(
    file: &TestFile,
    case: &CaseSyntax,
    tables: &HashMap<String, TableDefinition>,
    index: &ExtensionIndex,
) -> Result<Plan, BuildError> {
    let mut builder = Builder {
        file,
        index,
        urns: Vec::new(),
        declarations: Vec::new(),
        types: Vec::new(),
    };
    let expected = match &case.expected {
        Expected::Value(expr) => Some(expr),
        Expected::Error | Expected::Undefined => None,
    };
    // What a producer following the extension YAML declares as the call's output type: the
    // case's expected type (the corpus writes it from the YAML's return type).
    let output_type = match expected {
        Some(Expr::Literal { ty, .. }) => ty.to_proto(&mut |n| builder.type_anchor(n)),
        _ => None,
    };
    let root_input = match file.kind {
        TestKind::Scalar => {
            let columns = Columns::default();
            let mut expressions = vec![
                builder
                    .call(&case.call, &case.options, output_type, &columns)?
                    .0,
            ];
            if let Some(expr) = expected {
                expressions.push(builder.expr(expr, &columns)?.0);
            }
            project(one_row(), expressions)
        }
        TestKind::Aggregate => {
            let table = table_of(case, tables, &mut builder)?;
            let columns = Columns {
                types: table.columns.clone(),
                lambda: Vec::new(),
            };
            let measure = builder.aggregate(&case.call, &case.options, output_type, &columns)?;
            let aggregate = Rel {
                rel_type: Some(RelType::Aggregate(Box::new(AggregateRel {
                    input: Some(Box::new(table.read(&mut builder)?)),
                    measures: vec![Measure {
                        measure: Some(measure),
                        filter: None,
                    }],
                    ..Default::default()
                }))),
            };
            match expected {
                Some(expr) => {
                    let (literal, _) = builder.expr(expr, &Columns::default())?;
                    project(aggregate, vec![literal])
                }
                None => aggregate,
            }
        }
    };
    let mut names = vec!["result".to_string()];
    if expected.is_some() {
        names.push("expected".to_string());
    }
    Ok(Plan {
        version: Some(Version {
            major_number: 0,
            minor_number: 85,
            producer: "lode conformance".into(),
            ..Default::default()
        }),
        extension_urns: builder
            .urns
            .iter()
            .enumerate()
            .map(|(i, urn)| SimpleExtensionUrn {
                extension_urn_anchor: i as u32 + 1,
                urn: urn.clone(),
            })
            .collect(),
        extensions: builder.declarations_proto(),
        relations: vec![PlanRel {
            rel_type: Some(plan_rel::RelType::Root(RelRoot {
                input: Some(root_input),
                names,
            })),
        }],
        ..Default::default()
    })
}

/// The columns expressions may refer to, and the parameters of the lambda being built.
#[derive(Default)]
struct Columns {
    types: Vec<TestType>,
    lambda: Vec<TestType>,
}

/// A case's input table: typed columns and rows of literals.
struct Table {
    columns: Vec<TestType>,
    rows: Vec<Vec<Literal>>,
}

impl Table {
    fn read(&self, builder: &mut Builder) -> Result<Rel, BuildError> {
        let types = self
            .columns
            .iter()
            .map(|t| {
                t.to_proto(&mut |n| builder.type_anchor(n))
                    .ok_or_else(|| unsupported(format!("columns of type `{}`", t.signature_name())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let names = (0..self.columns.len()).map(|i| format!("col{i}")).collect();
        let expressions = self
            .rows
            .iter()
            .map(|row| nested::Struct {
                fields: row
                    .iter()
                    .map(|l| Expression {
                        rex_type: Some(RexType::Literal(l.clone())),
                    })
                    .collect(),
            })
            .collect();
        Ok(read(
            NamedStruct {
                names,
                r#struct: Some(substrait::proto::r#type::Struct {
                    types,
                    type_variation_reference: 0,
                    nullability: substrait::proto::r#type::Nullability::Required as i32,
                }),
            },
            VirtualTable {
                expressions,
                ..Default::default()
            },
        ))
    }
}

/// The table an aggregate case runs over: the values of its one column argument, the rows
/// written before the call, or a `DEFINE`d table. A column holding a null is made nullable.
fn table_of(
    case: &CaseSyntax,
    tables: &HashMap<String, TableDefinition>,
    builder: &mut Builder,
) -> Result<Table, BuildError> {
    let mut column_types: Vec<Option<TestType>> = Vec::new();
    let mut table_name = None;
    let mut inline_values = None;
    for arg in &case.call.args {
        match arg {
            Expr::ColumnValues { values, ty } => {
                if inline_values.is_some() {
                    return Err(unsupported("more than one column given by its values"));
                }
                inline_values = Some((values, ty));
            }
            Expr::Column { table, index, ty } => {
                if let Some(t) = table {
                    table_name = Some(t.clone());
                }
                if column_types.len() <= *index {
                    column_types.resize(index + 1, None);
                }
                if let Some(ty) = ty {
                    column_types[*index] = Some(ty.clone());
                }
            }
            _ => {}
        }
    }
    let (types, rows): (Vec<TestType>, Vec<Vec<String>>) = if let Some((values, ty)) = inline_values
    {
        (
            vec![ty.clone()],
            values.iter().map(|v| vec![v.clone()]).collect(),
        )
    } else if let Some(name) = table_name {
        let table = tables
            .get(&name)
            .ok_or_else(|| invalid(format!("table `{name}` is not DEFINEd above the case")))?;
        (table.columns.clone(), table.rows.clone())
    } else if let Some(rows) = &case.rows {
        let types = column_types
            .into_iter()
            .enumerate()
            .map(|(i, t)| t.ok_or_else(|| invalid(format!("column col{i} has no `::type`"))))
            .collect::<Result<Vec<_>, _>>()?;
        (types, rows.clone())
    } else {
        return Err(invalid("an aggregate case with no table"));
    };
    let mut types = types;
    for (i, ty) in types.iter_mut().enumerate() {
        if rows
            .iter()
            .any(|row| row.get(i).is_some_and(|v| v.eq_ignore_ascii_case("null")))
        {
            ty.nullable = true;
        }
    }
    let rows = rows
        .iter()
        .map(|row| {
            if row.len() != types.len() {
                return Err(invalid(format!(
                    "table row has {} values for {} columns",
                    row.len(),
                    types.len()
                )));
            }
            row.iter()
                .zip(&types)
                .map(|(v, t)| literal(v, t, &mut |n| builder.type_anchor(n)))
                .collect()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Table {
        columns: types,
        rows,
    })
}

struct Builder<'a> {
    file: &'a TestFile,
    index: &'a ExtensionIndex,
    urns: Vec<String>,
    /// (URN anchor, compound name); a function's anchor is its position + 1.
    declarations: Vec<(u32, String)>,
    /// (URN anchor, type name) of user-defined types; a type's anchor is its position + 1.
    types: Vec<(u32, String)>,
}

impl Builder<'_> {
    fn urn_anchor(&mut self, urn: &str) -> u32 {
        anchor_in(&mut self.urns, urn.to_string())
    }

    /// The anchor of user-defined type `name`, declared from the extension defining it.
    fn type_anchor(&mut self, name: &str) -> Option<u32> {
        let urn = self.index.resolve_type(name, self.file)?;
        let declaration = (self.urn_anchor(urn), name.to_string());
        Some(anchor_in(&mut self.types, declaration))
    }

    fn function_anchor(&mut self, name: &str, arg_types: &[Option<TestType>]) -> u32 {
        let urn = self.index.resolve(name, self.file);
        let urn_anchor = self.urn_anchor(urn);
        let signature: Vec<String> = arg_types
            .iter()
            .map(|t| {
                t.as_ref()
                    .map_or("any".to_string(), TestType::signature_name)
            })
            .collect();
        let compound = if signature.is_empty() {
            name.to_string()
        } else {
            format!("{name}:{}", signature.join("_"))
        };
        anchor_in(&mut self.declarations, (urn_anchor, compound))
    }

    fn declarations_proto(&self) -> Vec<SimpleExtensionDeclaration> {
        let types = self
            .types
            .iter()
            .enumerate()
            .map(|(i, (urn_anchor, name))| {
                MappingType::ExtensionType(ExtensionType {
                    extension_urn_reference: *urn_anchor,
                    type_anchor: i as u32 + 1,
                    name: name.clone(),
                })
            });
        let functions = self
            .declarations
            .iter()
            .enumerate()
            .map(|(i, (urn_anchor, name))| {
                MappingType::ExtensionFunction(ExtensionFunction {
                    extension_urn_reference: *urn_anchor,
                    function_anchor: i as u32 + 1,
                    name: name.clone(),
                })
            });
        types
            .chain(functions)
            .map(|m| SimpleExtensionDeclaration {
                mapping_type: Some(m),
            })
            .collect()
    }

    fn arguments(
        &mut self,
        args: &[Expr],
        columns: &Columns,
    ) -> Result<(Vec<FunctionArgument>, Vec<Option<TestType>>), BuildError> {
        let mut arguments = Vec::with_capacity(args.len());
        let mut types = Vec::with_capacity(args.len());
        for arg in args {
            let (arg_type, ty) = match arg {
                Expr::Enum(value) => (
                    ArgType::Enum(value.clone()),
                    Some(TestType::new(Kind::Enum)),
                ),
                other => {
                    let (expression, ty) = self.expr(other, columns)?;
                    (ArgType::Value(expression), ty)
                }
            };
            arguments.push(FunctionArgument {
                arg_type: Some(arg_type),
            });
            types.push(ty);
        }
        Ok((arguments, types))
    }

    /// A scalar call declaring `output_type` when the harness knows it: for the case's top call
    /// the expected type; nested calls have none (the harness does not derive types).
    fn call(
        &mut self,
        call: &Call,
        options: &[(String, String)],
        output_type: Option<Type>,
        columns: &Columns,
    ) -> Result<(Expression, Option<TestType>), BuildError> {
        let (arguments, types) = self.arguments(&call.args, columns)?;
        let function_reference = self.function_anchor(&call.name, &types);
        Ok((
            Expression {
                rex_type: Some(RexType::ScalarFunction(ScalarFunction {
                    function_reference,
                    arguments,
                    options: function_options(options),
                    output_type,
                    ..Default::default()
                })),
            },
            None,
        ))
    }

    fn aggregate(
        &mut self,
        call: &Call,
        options: &[(String, String)],
        output_type: Option<Type>,
        columns: &Columns,
    ) -> Result<AggregateFunction, BuildError> {
        let (arguments, types) = self.arguments(&call.args, columns)?;
        let function_reference = self.function_anchor(&call.name, &types);
        Ok(AggregateFunction {
            function_reference,
            arguments,
            options: function_options(options),
            output_type,
            phase: AggregationPhase::InitialToResult as i32,
            invocation: AggregationInvocation::All as i32,
            ..Default::default()
        })
    }

    fn expr(
        &mut self,
        expr: &Expr,
        columns: &Columns,
    ) -> Result<(Expression, Option<TestType>), BuildError> {
        match expr {
            Expr::Literal { text, ty } => Ok((
                Expression {
                    rex_type: Some(RexType::Literal(literal(text, ty, &mut |n| {
                        self.type_anchor(n)
                    })?)),
                },
                Some(ty.clone()),
            )),
            Expr::Call(call) => self.call(call, &[], None, columns),
            Expr::Column { index, .. } => {
                let ty = columns.types.get(*index).cloned().ok_or_else(|| {
                    invalid(format!("col{index} is not a column of the case's table"))
                })?;
                Ok((field(*index), Some(ty)))
            }
            // The single column of an aggregate's inline table.
            Expr::ColumnValues { .. } => Ok((field(0), columns.types.first().cloned())),
            Expr::Enum(value) => Err(invalid(format!(
                "enum `{value}` is only allowed as a function argument"
            ))),
            Expr::Lambda { parameters, body } => {
                let types = parameters
                    .iter()
                    .map(|t| {
                        t.to_proto(&mut |n| self.type_anchor(n)).ok_or_else(|| {
                            unsupported(format!(
                                "lambda parameters of type `{}`",
                                t.signature_name()
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let lambda_columns = Columns {
                    types: columns.types.clone(),
                    lambda: parameters.clone(),
                };
                let (body, returns) = self.expr(body, &lambda_columns)?;
                let ty = TestType::new(Kind::Function(parameters.clone(), returns.map(Box::new)));
                Ok((
                    Expression {
                        rex_type: Some(RexType::Lambda(Box::new(Lambda {
                            parameters: Some(substrait::proto::r#type::Struct {
                                types,
                                type_variation_reference: 0,
                                nullability: substrait::proto::r#type::Nullability::Required as i32,
                            }),
                            body: Some(Box::new(body)),
                        }))),
                    },
                    Some(ty),
                ))
            }
            Expr::LambdaParameter(index) => {
                let ty =
                    columns.lambda.get(*index).cloned().ok_or_else(|| {
                        invalid(format!("lambda parameter {index} is not in scope"))
                    })?;
                Ok((lambda_parameter(*index), Some(ty)))
            }
        }
    }
}

/// The anchor of `item` in `list` (its position + 1), appending it when it is new.
fn anchor_in<T: PartialEq>(list: &mut Vec<T>, item: T) -> u32 {
    match list.iter().position(|x| *x == item) {
        Some(i) => i as u32 + 1,
        None => {
            list.push(item);
            list.len() as u32
        }
    }
}

fn function_options(options: &[(String, String)]) -> Vec<FunctionOption> {
    options
        .iter()
        .map(|(name, value)| FunctionOption {
            name: name.clone(),
            preference: vec![value.clone()],
        })
        .collect()
}

/// Field `index` of the input row.
fn field(index: usize) -> Expression {
    reference(index, RootType::RootReference(Default::default()))
}

/// Parameter `index` of the innermost lambda.
fn lambda_parameter(index: usize) -> Expression {
    reference(
        index,
        RootType::LambdaParameterReference(LambdaParameterReference { steps_out: 0 }),
    )
}

fn reference(index: usize, root: RootType) -> Expression {
    Expression {
        rex_type: Some(RexType::Selection(Box::new(FieldReference {
            reference_type: Some(ReferenceType::DirectReference(ReferenceSegment {
                reference_type: Some(reference_segment::ReferenceType::StructField(Box::new(
                    StructField {
                        field: index as i32,
                        child: None,
                    },
                ))),
            })),
            root_type: Some(root),
        }))),
    }
}

fn read(base_schema: NamedStruct, table: VirtualTable) -> Rel {
    Rel {
        rel_type: Some(RelType::Read(Box::new(ReadRel {
            base_schema: Some(base_schema),
            read_type: Some(ReadType::VirtualTable(table)),
            ..Default::default()
        }))),
    }
}

/// One row with no columns: where a scalar case's expressions are evaluated.
fn one_row() -> Rel {
    read(
        NamedStruct {
            names: Vec::new(),
            r#struct: Some(substrait::proto::r#type::Struct {
                types: Vec::new(),
                type_variation_reference: 0,
                nullability: substrait::proto::r#type::Nullability::Required as i32,
            }),
        },
        VirtualTable {
            expressions: vec![nested::Struct { fields: Vec::new() }],
            ..Default::default()
        },
    )
}

fn project(input: Rel, expressions: Vec<Expression>) -> Rel {
    Rel {
        rel_type: Some(RelType::Project(Box::new(ProjectRel {
            input: Some(Box::new(input)),
            expressions,
            ..Default::default()
        }))),
    }
}
