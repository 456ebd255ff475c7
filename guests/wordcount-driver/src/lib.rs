//! Emits a word-count plan: lines of a table -> words (the `split_words` flat-map operator of
//! the word-count module, which the plan carries) -> count per word, most frequent first.
//!
//! Arguments: `input` (table, default `lines`), `column` (its text column, default `line`),
//! `top` (keep that many words; default all). The table is declared, not looked up, so
//! `lode plan` needs no data; the engine that runs the plan checks the column.

use lode_guest::driver::{self, Args, Driver, Relation, asc, desc};
use lode_guest::{DataType, Field};

const WORD_COUNT: &[u8] = include_bytes!("../../out/word-count.wasm");

struct WordCount;

impl Driver for WordCount {
    fn emit(args: Args) -> Result<Relation, String> {
        args.only(&["input", "column", "top"])?;
        let input = args.get_or("input", "lines");
        let column = args.get_or("column", "line");
        let top: u64 = args.parse("top", 0)?;
        driver::register_module(WORD_COUNT)?;
        let lines = Relation::read(input, &[Field::new(column, DataType::Utf8, true)])?;
        let words = lines.operator("split_words", &[], &format!("column={column}"), &[])?;
        let counts = words
            .aggregate(&["word"], &["count(*) AS n"])?
            .sort(&[desc("n"), asc("word")])?;
        Ok(if top > 0 {
            counts.fetch(0, Some(top))?
        } else {
            counts
        })
    }
}

lode_guest::export_driver!(WordCount);
