//! The in-memory search index of the embedded store: every vector kept in f32 (unit length) and
//! int8 (per-vector scale). A query scans the int8 copy (AVX2 when the CPU has it), keeps the best
//! few dozen, and reranks those exactly in f32 — measured by `code-evolver bench memory`.

use std::collections::HashMap;

use super::{ArtifactKind, Filter};

/// What a filter looks at, per entry.
#[derive(Debug, Clone)]
pub struct EntryMeta {
    pub id: String,
    pub kind: ArtifactKind,
    pub language: String,
    pub tags: Vec<String>,
}

impl EntryMeta {
    fn matches(&self, filter: &Filter) -> bool {
        (filter.kinds.is_empty() || filter.kinds.contains(&self.kind))
            && filter.language.as_ref().is_none_or(|l| *l == self.language)
            && (filter.tags.is_empty() || filter.tags.iter().any(|t| self.tags.contains(t)))
    }
}

#[derive(Default)]
pub struct Index {
    dimension: usize,
    meta: Vec<EntryMeta>,
    exact: Vec<f32>,
    quantized: Vec<i8>,
    scales: Vec<f32>,
    positions: HashMap<String, usize>,
}

/// `v` scaled to unit length (a zero vector stays zero).
pub fn normalised(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 { v.to_vec() } else { v.iter().map(|x| x / norm).collect() }
}

fn quantize(v: &[f32]) -> (Vec<i8>, f32) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; v.len()], 0.0);
    }
    let scale = max / 127.0;
    (v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect(), scale)
}

#[inline(always)]
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(x, y)| *x as i32 * *y as i32).sum()
}

fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn scan_portable(query: &[i8], rows: &[i8], dimension: usize, out: &mut [i32]) {
    for (slot, row) in out.iter_mut().zip(rows.chunks_exact(dimension)) {
        *slot = dot_i8(query, row);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn scan_avx2(query: &[i8], rows: &[i8], dimension: usize, out: &mut [i32]) {
    // The same loop, compiled with AVX2 so that LLVM vectorises the widening multiply-adds.
    for (slot, row) in out.iter_mut().zip(rows.chunks_exact(dimension)) {
        *slot = dot_i8(query, row);
    }
}

fn scan(query: &[i8], rows: &[i8], dimension: usize, out: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { scan_avx2(query, rows, dimension, out) };
        return;
    }
    scan_portable(query, rows, dimension, out);
}

impl Index {
    pub fn new(dimension: usize) -> Index {
        Index { dimension, ..Default::default() }
    }

    pub fn dimension(&self) -> usize {
        self.dimension
    }

    pub fn len(&self) -> usize {
        self.meta.len()
    }

    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// Adds or replaces an entry. The vector must have the index's dimension.
    pub fn put(&mut self, meta: EntryMeta, vector: &[f32]) {
        debug_assert_eq!(vector.len(), self.dimension);
        let unit = normalised(vector);
        let (q, scale) = quantize(&unit);
        let d = self.dimension;
        if let Some(&at) = self.positions.get(&meta.id) {
            self.exact[at * d..(at + 1) * d].copy_from_slice(&unit);
            self.quantized[at * d..(at + 1) * d].copy_from_slice(&q);
            self.scales[at] = scale;
            self.meta[at] = meta;
            return;
        }
        self.positions.insert(meta.id.clone(), self.meta.len());
        self.meta.push(meta);
        self.exact.extend_from_slice(&unit);
        self.quantized.extend_from_slice(&q);
        self.scales.push(scale);
    }

    pub fn remove(&mut self, id: &str) -> bool {
        let Some(at) = self.positions.remove(id) else { return false };
        let last = self.meta.len() - 1;
        let d = self.dimension;
        if at != last {
            self.exact.copy_within(last * d..(last + 1) * d, at * d);
            self.quantized.copy_within(last * d..(last + 1) * d, at * d);
            self.scales[at] = self.scales[last];
            self.meta.swap(at, last);
            self.positions.insert(self.meta[at].id.clone(), at);
        }
        self.exact.truncate(last * d);
        self.quantized.truncate(last * d);
        self.scales.truncate(last);
        self.meta.truncate(last);
        true
    }

    /// The `k` entries most similar to `query` (cosine), best first, among those `filter` admits.
    pub fn search(&self, query: &[f32], k: usize, filter: &Filter) -> Vec<(&EntryMeta, f32)> {
        if k == 0 || self.meta.is_empty() || query.len() != self.dimension {
            return Vec::new();
        }
        let unit = normalised(query);
        let (q, _) = quantize(&unit);
        let mut raw = vec![0i32; self.meta.len()];
        scan(&q, &self.quantized, self.dimension, &mut raw);
        // Approximate scores; entries the filter rejects drop out.
        let mut scored: Vec<(f32, u32)> = if filter.is_empty() {
            raw.iter().zip(&self.scales).enumerate().map(|(i, (s, scale))| (*s as f32 * scale, i as u32)).collect()
        } else {
            raw.iter()
                .enumerate()
                .filter(|(i, _)| self.meta[*i].matches(filter))
                .map(|(i, s)| (*s as f32 * self.scales[i], i as u32))
                .collect()
        };
        let shortlist = (k * 4).max(64).min(scored.len());
        if shortlist < scored.len() {
            scored.select_nth_unstable_by(shortlist - 1, |a, b| b.0.total_cmp(&a.0));
            scored.truncate(shortlist);
        }
        // Exact rerank of the shortlist.
        let d = self.dimension;
        let mut exact: Vec<(f32, u32)> = scored
            .iter()
            .map(|(_, i)| (dot_f32(&unit, &self.exact[*i as usize * d..(*i as usize + 1) * d]), *i))
            .collect();
        exact.sort_by(|a, b| b.0.total_cmp(&a.0));
        exact.truncate(k);
        exact.into_iter().map(|(s, i)| (&self.meta[i as usize], s)).collect()
    }

    /// Exact search (every vector in f32): the reference for recall figures.
    pub fn search_exact(&self, query: &[f32], k: usize, filter: &Filter) -> Vec<(&EntryMeta, f32)> {
        let unit = normalised(query);
        let d = self.dimension;
        let mut all: Vec<(f32, usize)> = (0..self.meta.len())
            .filter(|i| filter.is_empty() || self.meta[*i].matches(filter))
            .map(|i| (dot_f32(&unit, &self.exact[i * d..(i + 1) * d]), i))
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0));
        all.truncate(k);
        all.into_iter().map(|(s, i)| (&self.meta[i], s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str, kind: ArtifactKind) -> EntryMeta {
        EntryMeta { id: id.into(), kind, language: "python".into(), tags: vec![] }
    }

    #[test]
    fn search_finds_the_nearest_and_honours_filters_and_removal() {
        let mut index = Index::new(3);
        index.put(meta("a", ArtifactKind::Function), &[1.0, 0.0, 0.0]);
        index.put(meta("b", ArtifactKind::Spec), &[0.9, 0.1, 0.0]);
        index.put(meta("c", ArtifactKind::Function), &[0.0, 1.0, 0.0]);
        let hits = index.search(&[1.0, 0.05, 0.0], 2, &Filter::default());
        assert_eq!(hits.iter().map(|(m, _)| m.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert!((hits[0].1 - 0.9988).abs() < 1e-3, "exact cosine after rerank: {}", hits[0].1);
        let only_functions = Filter { kinds: vec![ArtifactKind::Function], ..Default::default() };
        let hits = index.search(&[1.0, 0.05, 0.0], 2, &only_functions);
        assert_eq!(hits.iter().map(|(m, _)| m.id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        assert!(index.remove("a"));
        assert!(!index.remove("a"));
        let hits = index.search(&[1.0, 0.0, 0.0], 1, &Filter::default());
        assert_eq!(hits[0].0.id, "b");
        // Replacing keeps one entry per id.
        index.put(meta("b", ArtifactKind::Spec), &[0.0, 0.0, 1.0]);
        assert_eq!(index.len(), 2);
        assert_eq!(index.search(&[0.0, 0.0, 1.0], 1, &Filter::default())[0].0.id, "b");
    }
}
