//! `top_k`: the k rows with the highest score in each group, a stateful operator.
//!
//! Config: `k=<n>,by=<score column>[,group=<column>][,label=<column>]`. The score column is
//! numeric, the group column a string or integer, the label a string. Output rows are
//! (group: string, label: string, <by>: fp64, rank: i32), groups in order, best first; ties
//! are broken by label. Each partition keeps its own groups, so a plan asks for its input
//! hashed by the group column (`distribution: HASH`) to get the top k of each group overall.

use std::collections::BTreeMap;

use lode_guest::prelude::*;

#[derive(Debug, Clone, PartialEq)]
struct Config {
    k: usize,
    by: usize,
    group: Option<usize>,
    label: Option<usize>,
    by_name: String,
}

fn column(input: &[Field], name: &str, allowed: &[DataType], role: &str) -> Result<usize, String> {
    let index = input
        .iter()
        .position(|f| f.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<&str> = input.iter().map(|f| f.name.as_str()).collect();
            format!(
                "{role} column '{name}' is not in the input ({})",
                names.join(", ")
            )
        })?;
    let data_type = &input[index].data_type;
    if !allowed.contains(data_type) {
        return Err(format!(
            "{role} column '{name}' is {}; it must be one of {}",
            data_type.substrait_name(),
            allowed
                .iter()
                .map(DataType::substrait_name)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(index)
}

fn parse(inputs: &[Vec<Field>], config: &[u8]) -> Result<Config, String> {
    let [input] = inputs else {
        return Err(format!("top_k takes one input, not {}", inputs.len()));
    };
    let text = std::str::from_utf8(config).map_err(|_| "config is not UTF-8".to_string())?;
    let (mut k, mut by, mut group, mut label) = (None, None, None, None);
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("config item '{item}' is not key=value"))?;
        let value = value.trim();
        match key.trim() {
            "k" => {
                k = Some(
                    value
                        .parse::<usize>()
                        .ok()
                        .filter(|k| (1..=10_000).contains(k))
                        .ok_or_else(|| format!("k={value}: k must be an integer in 1..=10000"))?,
                )
            }
            "by" => by = Some(value.to_string()),
            "group" => group = Some(value.to_string()),
            "label" => label = Some(value.to_string()),
            other => {
                return Err(format!(
                    "unknown config key '{other}' (k, by, group, label)"
                ));
            }
        }
    }
    let numbers = [
        DataType::Int32,
        DataType::Int64,
        DataType::Float32,
        DataType::Float64,
    ];
    let by_name = by.ok_or("config needs by=<score column>")?;
    Ok(Config {
        k: k.ok_or("config needs k=<n>")?,
        by: column(input, &by_name, &numbers, "score")?,
        group: group
            .map(|g| {
                column(
                    input,
                    &g,
                    &[DataType::Utf8, DataType::Int32, DataType::Int64],
                    "group",
                )
            })
            .transpose()?,
        label: label
            .map(|l| column(input, &l, &[DataType::Utf8], "label"))
            .transpose()?,
        by_name,
    })
}

fn output(config: &Config) -> Vec<Field> {
    vec![
        Field::new("group", DataType::Utf8, true),
        Field::new("label", DataType::Utf8, true),
        Field::new(config.by_name.clone(), DataType::Float64, false),
        Field::new("rank", DataType::Int32, false),
    ]
}

fn number(column: &Column, row: usize) -> f64 {
    match column.data_type() {
        DataType::Int32 => f64::from(column.values::<i32>()[row]),
        DataType::Int64 => column.values::<i64>()[row] as f64,
        DataType::Float32 => f64::from(column.values::<f32>()[row]),
        _ => column.values::<f64>()[row],
    }
}

fn key(column: &Column, row: usize) -> Option<String> {
    if !column.is_valid(row) {
        return None;
    }
    Some(match column.data_type() {
        DataType::Int32 => column.values::<i32>()[row].to_string(),
        DataType::Int64 => column.values::<i64>()[row].to_string(),
        _ => column.str_value(row).to_string(),
    })
}

/// Orders candidates best first: higher score, then label.
fn better(a: &(f64, Option<String>), b: &(f64, Option<String>)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1))
}

struct TopK {
    config: Config,
    /// Per group, at most 2k candidates; trimmed back to k when full.
    groups: BTreeMap<Option<String>, Vec<(f64, Option<String>)>>,
}

impl Operator for TopK {
    fn push(&mut self, _input: u32, batch: Batch) -> Result<Vec<Batch>, CallError> {
        let by = batch.column(self.config.by);
        for row in 0..batch.num_rows {
            if !by.is_valid(row) {
                continue;
            }
            let score = number(by, row);
            if score.is_nan() {
                return Err(CallError::at_row(row, "the score is NaN"));
            }
            let group = self.config.group.and_then(|g| key(batch.column(g), row));
            let label = self.config.label.and_then(|l| key(batch.column(l), row));
            let k = self.config.k;
            let candidates = self.groups.entry(group).or_default();
            candidates.push((score, label));
            if candidates.len() >= 2 * k {
                candidates.sort_by(better);
                candidates.truncate(k);
            }
        }
        Ok(Vec::new())
    }

    fn finish(&mut self) -> Result<Vec<Batch>, CallError> {
        let rows: usize = self
            .groups
            .values()
            .map(|c| c.len().min(self.config.k))
            .sum();
        let mut group = VariableBuilder::strings(rows);
        let mut label = VariableBuilder::strings(rows);
        let mut score = PrimitiveBuilder::<f64>::new(DataType::Float64, rows);
        let mut rank = PrimitiveBuilder::<i32>::new(DataType::Int32, rows);
        for (key, candidates) in std::mem::take(&mut self.groups) {
            let mut candidates = candidates;
            candidates.sort_by(better);
            for (i, (s, l)) in candidates.into_iter().take(self.config.k).enumerate() {
                group.push_str(key.as_deref());
                label.push_str(l.as_deref());
                score.push(Some(s));
                rank.push(Some(i as i32 + 1));
            }
        }
        if rows == 0 {
            return Ok(Vec::new());
        }
        Ok(vec![Batch::new(
            output(&self.config),
            vec![
                group.finish(),
                label.finish(),
                score.finish(),
                rank.finish(),
            ],
        )])
    }
}

fn module() -> Module {
    Module::new("top-k").operator(
        "top_k",
        "the k highest-scoring rows of each group, per partition (config: k=<n>,by=<score>[,group=<col>][,label=<col>])",
        |inputs, config| parse(inputs, config).map(|c| output(&c)),
        |inputs, config, _partition| {
            let config = parse(inputs, config)?;
            Ok(Box::new(TopK {
                config,
                groups: BTreeMap::new(),
            }) as Box<dyn Operator>)
        },
    )
}

lode_guest::export!(module);

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> Vec<Vec<Field>> {
        vec![vec![
            Field::new("bucket", DataType::Int64, false),
            Field::new("text", DataType::Utf8, true),
            Field::new("votes", DataType::Int64, false),
        ]]
    }

    #[test]
    fn parses_config() {
        let c = parse(&input(), b"k=3, by=votes, group=bucket, label=text").unwrap();
        assert_eq!((c.k, c.by, c.group, c.label), (3, 2, Some(0), Some(1)));
    }

    #[test]
    fn rejects_bad_config() {
        for (config, needle) in [
            (&b"by=votes"[..], "needs k"),
            (b"k=0,by=votes", "1..=10000"),
            (b"k=2,by=text", "must be one of"),
            (b"k=2,by=nope", "not in the input"),
            (b"k=2,by=votes,colour=red", "unknown config key"),
        ] {
            let e = parse(&input(), config).unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
    }
}
