//! How the bench prints: markdown tables, numbers with thousands separators, percentiles, and
//! the targets gathered for the closing summary.

use std::time::Duration;

/// A markdown table, printed at once: the first column left-aligned, the others right-aligned.
#[derive(Debug)]
pub struct Table {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: &str, headers: &[&str]) -> Table {
        Table {
            title: title.to_owned(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(
            cells.len(),
            self.headers.len(),
            "a row of table {:?} has the wrong number of cells",
            self.title
        );
        self.rows.push(cells);
    }

    pub fn print(&self) {
        println!();
        println!("**{}**", self.title);
        println!();
        println!("| {} |", self.headers.join(" | "));
        let rule: Vec<&str> = (0..self.headers.len())
            .map(|i| if i == 0 { "---" } else { "---:" })
            .collect();
        println!("|{}|", rule.join("|"));
        for row in &self.rows {
            println!("| {} |", row.join(" | "));
        }
    }
}

/// `n` with thousands separators: 1234567 → "1,234,567".
pub fn int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A signed integer with thousands separators.
pub fn signed(n: i64) -> String {
    if n < 0 {
        format!("-{}", int(n.unsigned_abs()))
    } else {
        int(n.unsigned_abs())
    }
}

/// A rate or a count too large for decimals, rounded, with thousands separators.
pub fn round(x: f64) -> String {
    if x.is_finite() && x >= 0.0 {
        int(x.round() as u64)
    } else {
        format!("{x:.0}")
    }
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// The nearest-rank percentile `p` (0–100) of `sorted` (ascending); zero when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One target of the brief, with what this run measured.
#[derive(Debug, Clone)]
pub struct Target {
    pub section: &'static str,
    pub goal: String,
    pub measured: String,
    /// `None`: this run could not measure it (say why in `measured`).
    pub met: Option<bool>,
}

impl Target {
    pub fn new(section: &'static str, goal: &str, measured: String, met: bool) -> Target {
        Target {
            section,
            goal: goal.to_owned(),
            measured,
            met: Some(met),
        }
    }

    /// A target this run could not measure, and why.
    pub fn unmeasured(section: &'static str, goal: &str, why: &str) -> Target {
        Target {
            section,
            goal: goal.to_owned(),
            measured: why.to_owned(),
            met: None,
        }
    }
}

/// The closing summary: every target of the sections that ran, PASS or FAIL.
pub fn print_summary(targets: &[Target]) {
    let mut table = Table::new("Summary", &["section", "target", "measured", "result"]);
    for t in targets {
        table.row(vec![
            t.section.to_owned(),
            t.goal.clone(),
            t.measured.clone(),
            match t.met {
                Some(true) => "PASS",
                Some(false) => "**FAIL**",
                None => "n/a",
            }
            .to_owned(),
        ]);
    }
    table.print();
}
