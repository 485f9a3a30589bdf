//! Number formatting for answers: thousands separators, sensible decimals.

/// `1234567.891` → `1,234,567.89`; integers stay integers.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let decimals = if x.fract() == 0.0 && x.abs() < 1e15 { 0 } else { 2 };
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(s.len() + s.len() / 3 + 1);
    if x < 0.0 && s.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        out.push('-');
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// `name_with_underscores` → `name with underscores`, for prose.
pub fn label(column: &str) -> String {
    column.replace('_', " ")
}

/// Escapes a value for a markdown table cell.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_a_person_writes_them() {
        assert_eq!(number(3000.0), "3,000");
        assert_eq!(number(1234567.891), "1,234,567.89");
        assert_eq!(number(-0.004), "0.00");
        assert_eq!(number(-1500.5), "-1,500.50");
        assert_eq!(number(12.0), "12");
        assert_eq!(number(999.999), "1,000.00");
    }
}
