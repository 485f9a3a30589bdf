//! Writes `vocab/o200k.bin`: the o200k_base vocabulary in a form that needs no parsing at start-up, read
//! by `src/tokens.rs` straight from the bytes compiled into the binary.
//!
//! Run `cargo run -p datasage-shared --example gen_vocab` after changing the format or the vocabulary.
//!
//! Layout, little-endian: `DSVOCAB1`, token count `n` (u32), `n + 1` byte offsets (u32; token `r` is
//! `bytes[off[r]..off[r + 1]]`), `n` ranks sorted by their token bytes (u32, for binary search), the bytes.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bpe = tiktoken_rs::o200k_base()?;
    let mut tokens: Vec<Vec<u8>> = Vec::new();
    // Ordinary ranks are contiguous from 0; the first rank that does not decode ends them.
    while let Ok(bytes) = bpe.decode_bytes(&[tokens.len() as u32]) {
        tokens.push(bytes);
    }
    let n = tokens.len() as u32;
    let mut offsets = Vec::with_capacity(tokens.len() + 1);
    let mut blob = Vec::new();
    for t in &tokens {
        offsets.push(blob.len() as u32);
        blob.extend_from_slice(t);
    }
    offsets.push(blob.len() as u32);
    let mut sorted: Vec<u32> = (0..n).collect();
    sorted.sort_by(|a, b| tokens[*a as usize].cmp(&tokens[*b as usize]));

    let mut out = b"DSVOCAB1".to_vec();
    out.extend_from_slice(&n.to_le_bytes());
    offsets
        .iter()
        .chain(&sorted)
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    out.extend_from_slice(&blob);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vocab/o200k.bin");
    std::fs::write(&path, &out)?;
    println!("{}: {n} tokens, {} bytes", path.display(), out.len());
    Ok(())
}
