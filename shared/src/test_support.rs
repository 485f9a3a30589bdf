//! Helpers for the crate's own tests.

/// Splits `bytes` at the given cut points (taken modulo the length, sorted), as a stream might arrive.
pub fn split_bytes<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut prev = 0;
    for p in points.into_iter().chain([bytes.len()]) {
        chunks.push(&bytes[prev..p]);
        prev = p;
    }
    chunks
}

/// Like [`split_bytes`], keeping only cuts on character boundaries, so every piece is text.
pub fn split_str<'a>(text: &'a str, cuts: &[usize]) -> Vec<&'a str> {
    let on_boundary: Vec<usize> = cuts
        .iter()
        .map(|c| c % (text.len() + 1))
        .filter(|c| text.is_char_boundary(*c))
        .collect();
    split_bytes(text.as_bytes(), &on_boundary)
        .into_iter()
        .map(|b| std::str::from_utf8(b).unwrap_or_default())
        .collect()
}
