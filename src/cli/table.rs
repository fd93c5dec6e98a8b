//! Aligned text tables for the CLI's default output. Every cell goes through
//! [`escape`](super::escape::escape), so no value from the API reaches the terminal raw.

use serde_json::Value;

use super::escape::escape;

/// A table: a header row and rows of cells, rendered with columns two spaces apart.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; its cells are escaped here.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.iter().map(|c| escape(c).into_owned()).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as lines (each ending with a newline); the last column is not padded.
    pub fn render(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let headers = self.headers.iter().map(|h| (*h).to_owned());
        for row in std::iter::once(headers.collect::<Vec<_>>()).chain(self.rows.iter().cloned()) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                if i + 1 == columns {
                    line.push_str(cell);
                } else {
                    let pad = widths[i] - cell.chars().count();
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A JSON value as a cell: strings as they are, `null` and absent as `-`, booleans as
/// `yes`/`no`, arrays as comma-separated items, objects as compact JSON.
pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) if s.is_empty() => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(true)) => "yes".to_owned(),
        Some(Value::Bool(false)) => "no".to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(items)) if items.is_empty() => "-".to_owned(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| cell(Some(item)))
            .collect::<Vec<_>>()
            .join(","),
        Some(object @ Value::Object(_)) => object.to_string(),
    }
}

/// `object[key]` as a cell.
pub fn field(object: &Value, key: &str) -> String {
    cell(object.get(key))
}

/// A node id: the `*_str` form (exact above 2^53) when present, else the number.
pub fn id_field(object: &Value, key: &str) -> String {
    match object.get(format!("{key}_str")) {
        Some(Value::String(s)) => s.clone(),
        _ => field(object, key),
    }
}

/// The items of `document[key]` (an empty list when absent or not a list).
pub fn items<'a>(document: &'a Value, key: &str) -> &'a [Value] {
    document
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn columns_align_and_the_last_is_not_padded() {
        let mut table = Table::new(&["ID", "NAME", "STATUS"]);
        table.row(vec!["1".into(), "edge-frankfurt".into(), "Running".into()]);
        table.row(vec!["22".into(), "x".into(), "-".into()]);
        assert_eq!(
            table.render(),
            "ID  NAME            STATUS\n\
             1   edge-frankfurt  Running\n\
             22  x               -\n"
        );
    }

    #[test]
    fn cells_are_escaped_before_they_are_measured() {
        let mut table = Table::new(&["NAME", "N"]);
        table.row(vec!["\x1b[2Jevil\n".into(), "1".into()]);
        table.row(vec!["ok".into(), "2".into()]);
        assert_eq!(
            table.render(),
            "NAME           N\n\
             \\x1b[2Jevil\\n  1\n\
             ok             2\n"
        );
    }

    #[test]
    fn json_values_as_cells() {
        let node = json!({"node_id": 11_364_728_073_201_639_405u64,
            "node_id_str": "11364728073201639405", "name": "", "alerts": ["a", "b"],
            "connected": true, "gone": null, "n": 3, "o": {"k": 1}, "none": []});
        assert_eq!(id_field(&node, "node_id"), "11364728073201639405");
        assert_eq!(field(&node, "node_id"), "11364728073201639405");
        assert_eq!(field(&node, "name"), "-");
        assert_eq!(field(&node, "alerts"), "a,b");
        assert_eq!(field(&node, "connected"), "yes");
        assert_eq!(field(&node, "gone"), "-");
        assert_eq!(field(&node, "missing"), "-");
        assert_eq!(field(&node, "n"), "3");
        assert_eq!(field(&node, "o"), "{\"k\":1}");
        assert_eq!(field(&node, "none"), "-");
        assert_eq!(items(&node, "alerts").len(), 2);
        assert!(items(&node, "missing").is_empty());
    }
}
