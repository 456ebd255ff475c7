//! A driver for the host's tests. `--arg case=...` picks how it misbehaves:
//!
//! - `spin`: computes forever (the host's own-time limit must stop it);
//! - `flood`: submits plans forever (the plan limit must stop it);
//! - `hoard`: allocates memory forever (the memory limit must stop it);
//! - `panic`: panics (the host reports the panic message);
//! - `substrait`: submits `--arg plan=...` (Substrait JSON) and returns the error it got;
//! - `failing-query`: runs a query that fails and returns the error it got, as a value;
//! - `huge-result`: asks for all of table `--arg table=...` (points), for a host whose limit
//!   on results returned to a driver is smaller.
//! - `submit`: submits an endless query and a small one, waits for the small one, then
//!   cancels the endless one, and says what their statuses were.
//!
//! Handled errors come back as a one-row table `outcome`.

use lode_guest::driver::{Args, Driver, QueryStatus, Relation, describe};

struct Evil;

/// A one-row relation saying what happened.
fn outcome(text: &str) -> Result<Option<Relation>, String> {
    let quoted = text.replace('\'', "''");
    Ok(Some(Relation::sql(&format!(
        "SELECT '{quoted}' AS outcome"
    ))?))
}

impl Driver for Evil {
    fn run(args: Args) -> Result<Option<Relation>, String> {
        match args.get_or("case", "") {
            "spin" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "flood" => loop {
                Relation::sql("SELECT 1 AS one")?.execute()?;
            },
            "hoard" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 16 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "panic" => panic!("evil-driver: deliberate panic"),
            "substrait" => match Relation::substrait(args.get_or("plan", "").as_bytes()) {
                Ok(_) => outcome("accepted"),
                Err(e) => outcome(&describe(&e)),
            },
            "failing-query" => {
                match Relation::sql(
                    "SELECT CAST(s AS INT) AS n FROM (VALUES ('1'), ('one')) AS t(s)",
                )?
                .execute()
                {
                    Ok(_) => outcome("ran"),
                    Err(e) => outcome(&format!("handled: {}", describe(&e))),
                }
            }
            "huge-result" => match Relation::scan(args.get_or("table", "points"))?.execute() {
                Ok(rows) => outcome(&format!("received {} rows", rows.num_rows())),
                Err(e) => outcome(&describe(&e)),
            },
            "submit" => {
                let table = args.get_or("table", "points");
                let show = |s: QueryStatus| format!("{:?} {} rows", s.state, s.rows);
                // Ten billion rows: it runs until cancelled.
                let endless = Relation::sql(&format!(
                    "SELECT count(*) AS n FROM {table} a, {table} b, {table} c, {table} d, {table} e"
                ))?
                .submit()?;
                let small =
                    Relation::sql(&format!("SELECT count(*) AS n FROM {table}"))?.submit()?;
                let before = show(endless.status());
                let n = small.wait()?.values::<i64>("n")?;
                let small_after = show(small.status());
                endless.cancel();
                let cancelled = show(endless.status());
                let waited = match endless.wait() {
                    Ok(rows) => format!("{} rows", rows.num_rows()),
                    Err(e) => describe(&e),
                };
                let again = match small.wait() {
                    Ok(_) => "waited twice".to_string(),
                    Err(e) => describe(&e),
                };
                outcome(&format!(
                    "endless: {before}, then {cancelled}, wait: {waited}; small: n = {n:?}, \
                     {small_after}, wait again: {again}"
                ))
            }
            other => Err(format!(
                "unknown case `{other}` (spin, flood, hoard, panic, substrait, failing-query, huge-result, submit)"
            )),
        }
    }
}

lode_guest::export_driver!(Evil);
