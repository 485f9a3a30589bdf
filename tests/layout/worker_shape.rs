//! The worker's shape, checked from its source: modules import each other without a cycle, and no function
//! is longer than one screen. These are what keep the chat path readable top to bottom (issue 15).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The longest a function in the worker may be, in lines from its signature to its closing brace.
const MAX_FUNCTION_LINES: usize = 80;

fn worker_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../worker/src")
}

/// Every `.rs` file under `dir`, with its module path (`crate`, `crate::chat`, `crate::chat::llm`).
fn modules(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let rel = path.strip_prefix(dir).unwrap().with_extension("");
                let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
                if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                    parts.pop();
                }
                let name = std::iter::once("crate".to_owned())
                    .chain(parts)
                    .collect::<Vec<_>>()
                    .join("::");
                out.insert(name, fs::read_to_string(&path).unwrap());
            }
        }
    }
    out
}

/// Source without `//` comments and string literals, so neither is read as a path.
fn code_only(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    for line in src.lines() {
        let mut in_str = false;
        let mut prev = ' ';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_str {
                if c == '"' && prev != '\\' {
                    in_str = false;
                }
                prev = if prev == '\\' && c == '\\' { ' ' } else { c };
                continue;
            }
            if c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if c == '"' {
                in_str = true;
                prev = ' ';
                continue;
            }
            out.push(c);
        }
        out.push('\n');
    }
    out
}

/// The paths a module names — `crate::a::b`, `super::c`, a child's `d::e` — with `use x::{a, b::c}` groups
/// expanded.
fn named_paths(code: &str) -> Vec<String> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    for (start, _) in code.match_indices(is_ident) {
        if code[..start].ends_with(|c: char| is_ident(c) || c == ':') {
            continue;
        }
        let mut path = String::new();
        let mut tail = &code[start..];
        loop {
            let seg: String = tail.chars().take_while(|&c| is_ident(c)).collect();
            if seg.is_empty() {
                break;
            }
            if !path.is_empty() {
                path.push_str("::");
            }
            path.push_str(&seg);
            tail = &tail[seg.len()..];
            let Some(after) = tail.strip_prefix("::") else {
                break;
            };
            if let Some(group) = after.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let item: String = item
                        .trim()
                        .chars()
                        .take_while(|&c| is_ident(c) || c == ':')
                        .collect();
                    if !item.is_empty() {
                        out.push(format!("{path}::{item}"));
                    }
                }
                break;
            }
            tail = after;
        }
        if path.contains("::") {
            out.push(path);
        }
    }
    out
}

/// The module a path written in `from` points into: the longest known module that prefixes it. A path not
/// rooted at `crate`, `super` or `self` counts only if it names one of `from`'s own submodules.
fn resolve(from: &str, path: &str, known: &BTreeMap<String, String>) -> Option<String> {
    let mut segs: Vec<&str> = path.split("::").collect();
    let mut base: Vec<&str> = from.split("::").collect();
    let rooted = matches!(segs[0], "crate" | "super" | "self");
    while segs.first() == Some(&"super") {
        segs.remove(0);
        base.pop();
    }
    match segs.first() {
        Some(&"crate") => {
            base = vec!["crate"];
            segs.remove(0);
        }
        Some(&"self") => {
            segs.remove(0);
        }
        _ => {}
    }
    let min = if rooted { 1 } else { base.len() + 1 };
    let full: Vec<&str> = base.into_iter().chain(segs).collect();
    (min..=full.len())
        .rev()
        .map(|n| full[..n].join("::"))
        .find(|m| known.contains_key(m))
}

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let known = modules(&worker_src());
    let mut graph = BTreeMap::new();
    for (module, src) in &known {
        let deps: BTreeSet<String> = named_paths(&code_only(src))
            .iter()
            .filter_map(|p| resolve(module, p, &known))
            .filter(|m| m != module)
            .collect();
        graph.insert(module.clone(), deps);
    }
    graph
}

/// One cycle through `start`, if there is one: the modules along it.
fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![start.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap();
        for next in graph.get(last).into_iter().flatten() {
            if next == start {
                return Some(path.clone());
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn worker_modules_import_each_other_without_a_cycle() {
    let graph = import_graph();
    assert!(graph.len() > 20, "the worker's modules were not found: {graph:?}");
    assert!(
        graph["crate::hub"].contains("crate::chat"),
        "the import reader misses plain `use crate::` lines"
    );
    let cycles: BTreeSet<String> = graph
        .keys()
        .filter_map(|m| cycle_through(&graph, m))
        .map(|mut c| {
            let min = c.iter().enumerate().min_by_key(|(_, m)| *m).map_or(0, |(i, _)| i);
            c.rotate_left(min);
            c.join(" → ")
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "import cycles in worker/src:\n{}",
        cycles.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// Functions (`fn name(` at the start of a line) and how many lines each spans.
fn function_lengths(src: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = src.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let sig = [
            "pub async fn ",
            "pub(crate) async fn ",
            "async fn ",
            "pub fn ",
            "pub(crate) fn ",
            "fn ",
        ]
        .into_iter()
        .find_map(|p| t.strip_prefix(p));
        let Some(sig) = sig else { continue };
        let indent = line.len() - t.len();
        let name: String = sig
            .chars()
            .take_while(|&c| c.is_alphanumeric() || c == '_')
            .collect();
        let end = lines[i..]
            .iter()
            .position(|l| l.len() > indent && l[..indent].trim().is_empty() && l[indent..].starts_with('}'))
            .or_else(|| {
                lines[i..]
                    .iter()
                    .position(|l| l.trim_end().ends_with(';'))
                    .filter(|&n| n == 0)
            });
        if let Some(n) = end {
            out.push((name, n + 1));
        }
    }
    out
}

#[test]
fn no_worker_function_is_longer_than_one_screen() {
    let long: Vec<String> = modules(&worker_src())
        .iter()
        .flat_map(|(module, src)| {
            function_lengths(src)
                .into_iter()
                .filter(|(_, n)| *n > MAX_FUNCTION_LINES)
                .map(move |(f, n)| format!("{module}::{f}: {n} lines"))
        })
        .collect();
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines:\n{}",
        long.join("\n")
    );
}
