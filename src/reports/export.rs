//! Any report as a table: CSV (the `csv` crate) or .xlsx (`rust_xlsxwriter`), SPEC §11
//! "exportable". Columns follow the row struct's field order; a nested map (an agent's time per
//! state) becomes one column per key, `state_secs.idle`, in first-seen order.

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::labels::Kind;

/// Export failures (none comes from user input: rows are ours).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A row did not serialise.
    #[error("row encoding: {0}")]
    Json(#[from] serde_json::Error),
    /// The CSV writer failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    /// The workbook writer failed.
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// A JSON object with its keys in the order they were written.
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a report row object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Rows flattened to (header, cells), cells still typed as JSON values.
pub fn table<T: Serialize>(rows: &[T]) -> Result<(Vec<String>, Vec<Vec<Value>>), ExportError> {
    let mut header: Vec<String> = Vec::new();
    let mut flat_rows: Vec<Vec<(String, Value)>> = Vec::with_capacity(rows.len());
    for row in rows {
        let text = serde_json::to_string(row)?;
        let Ordered(fields) = serde_json::from_str(&text)?;
        let mut flat = Vec::with_capacity(fields.len());
        for (k, v) in fields {
            match v {
                Value::Object(m) => {
                    for (sub, sv) in m {
                        flat.push((format!("{k}.{sub}"), sv));
                    }
                }
                other => flat.push((k, other)),
            }
        }
        for (k, _) in &flat {
            if !header.contains(k) {
                header.push(k.clone());
            }
        }
        flat_rows.push(flat);
    }
    let cells = flat_rows
        .into_iter()
        .map(|flat| {
            header
                .iter()
                .map(|h| {
                    flat.iter()
                        .find(|(k, _)| k == h)
                        .map_or(Value::Null, |(_, v)| v.clone())
                })
                .collect()
        })
        .collect();
    Ok((header, cells))
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The rows as CSV (UTF-8, header line first).
pub fn to_csv<T: Serialize>(rows: &[T]) -> Result<Vec<u8>, ExportError> {
    let (header, cells) = table(rows)?;
    table_csv(&header, &cells)
}

/// A table as CSV (UTF-8, header line first).
pub fn table_csv(header: &[String], cells: &[Vec<Value>]) -> Result<Vec<u8>, ExportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for row in cells {
        w.write_record(row.iter().map(text))?;
    }
    w.into_inner()
        .map_err(|e| ExportError::Csv(csv::Error::from(e.into_error())))
}

/// The byte-order mark that makes Excel read a CSV file as UTF-8 (without it, Chinese headers
/// open as mojibake in the zh-CN locale's default code page).
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A table as CSV for download: UTF-8 with a leading byte-order mark, header line first.
pub fn table_csv_bom(header: &[String], cells: &[Vec<Value>]) -> Result<Vec<u8>, ExportError> {
    let mut out = UTF8_BOM.to_vec();
    out.extend(table_csv(header, cells)?);
    Ok(out)
}

/// The rows as an .xlsx workbook with one sheet named `sheet`; numbers stay numbers.
pub fn to_xlsx<T: Serialize>(rows: &[T], sheet: &str) -> Result<Vec<u8>, ExportError> {
    let (header, cells) = table(rows)?;
    table_xlsx(&header, &cells, sheet)
}

/// A table as an .xlsx workbook with one sheet named `sheet` (bold header, plain numbers).
pub fn table_xlsx(
    header: &[String],
    cells: &[Vec<Value>],
    sheet: &str,
) -> Result<Vec<u8>, ExportError> {
    table_xlsx_styled(header, &[], cells, sheet)
}

/// A table as an .xlsx workbook: bold header row, numbers as numbers, and per column `kinds`
/// (missing ones read as counts) a percentage format for rates and two decimals for other
/// fractional numbers; durations stay whole seconds as their header says.
pub fn table_xlsx_styled(
    header: &[String],
    kinds: &[Kind],
    cells: &[Vec<Value>],
    sheet: &str,
) -> Result<Vec<u8>, ExportError> {
    use rust_xlsxwriter::Format;
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let decimal = Format::new().set_num_format("0.00");
    let general = Format::new();
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet)?;
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)?;
    }
    for (r, row) in cells.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in row.iter().enumerate() {
            let kind = kinds.get(c).copied().unwrap_or(Kind::Count);
            let c = c as u16;
            match v {
                Value::Null => {}
                Value::Number(n) => {
                    let f = match kind {
                        Kind::Rate => &percent,
                        Kind::Number => &decimal,
                        _ => &general,
                    };
                    ws.write_number_with_format(r, c, n.as_f64().unwrap_or(0.0), f)?;
                }
                Value::Bool(b) => {
                    ws.write_boolean(r, c, *b)?;
                }
                other => {
                    ws.write_string(r, c, text(other))?;
                }
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn part(book: &[u8], name: &str) -> String {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(book)).expect("zip container");
        let mut s = String::new();
        zip.by_name(name)
            .expect("workbook part")
            .read_to_string(&mut s)
            .expect("UTF-8 XML");
        s
    }

    #[test]
    fn a_styled_workbook_has_a_bold_header_and_percentage_rates() {
        let header = ["技能组", "流入量", "接通率"].map(String::from);
        let cells = vec![vec![
            Value::from("support"),
            Value::from(2),
            Value::from(0.5),
        ]];
        let kinds = [Kind::Text, Kind::Count, Kind::Rate];
        let book = table_xlsx_styled(&header, &kinds, &cells, "skill-groups-daily").unwrap();
        let styles = part(&book, "xl/styles.xml");
        assert!(styles.contains("<b/>"), "{styles}");
        assert!(styles.contains("formatCode=\"0.0%\""), "{styles}");
        let sheet = part(&book, "xl/worksheets/sheet1.xml");
        assert!(
            sheet.contains("<v>0.5</v>"),
            "the rate stays a number: {sheet}"
        );
        assert!(part(&book, "xl/sharedStrings.xml").contains(">接通率<"));
    }

    #[test]
    fn a_download_csv_starts_with_a_byte_order_mark() {
        let csv = table_csv_bom(&["流入量".to_owned()], &[vec![Value::from(3)]]).unwrap();
        assert_eq!(csv.get(..3), Some(UTF8_BOM));
        assert_eq!(csv.get(3..), Some("流入量\n3\n".as_bytes()));
    }
}
