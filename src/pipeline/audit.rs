//! `radial audit`: proves that stored results come from the stated inputs
//! and settings. Three checks, all reported, none stopping the others:
//! every object's content matches its hash; the input files (hashed afresh,
//! not from the stamp cache), manifest and parameters match the lock; and
//! all tasks (or a deterministic sample) recomputed in a scratch store give
//! the recorded output hashes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rand::SeedableRng;
use rayon::prelude::*;

use super::execute::task_data;
use super::hash::{sha256_file, sha256_hex};
use super::inspect::{param_changes, resolve};
use super::lock::read_lock;
use super::plan::Plan;
use super::store::Store;
use crate::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Recompute this many sampled tasks (all when `None`).
    pub sample: Option<usize>,
    pub seed: u64,
    /// What to compare with: a run record as a lock ([`RunRecord::as_lock`],
    /// for `radial audit RUN`); when `None`, the plan's lock file.
    ///
    /// [`RunRecord::as_lock`]: super::runs::RunRecord::as_lock
    pub reference: Option<super::lock::LockFile>,
    /// What the reference is called in the report.
    pub reference_name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditReport {
    pub objects_checked: usize,
    pub corrupt_objects: Vec<String>,
    pub input_problems: Vec<String>,
    pub missing: Vec<String>,
    pub recomputed: usize,
    pub mismatches: Vec<String>,
    /// Recomputed outputs whose bytes differ only in features computed
    /// through an FFT, within [`FFT_TOLERANCE`] (see [`FFT_FEATURES`]).
    pub within_tolerance: Vec<String>,
    /// `the lock` or `run <id>`.
    pub reference: String,
}

impl AuditReport {
    pub fn ok(&self) -> bool {
        self.corrupt_objects.is_empty()
            && self.input_problems.is_empty()
            && self.missing.is_empty()
            && self.mismatches.is_empty()
    }

    pub fn text(&self) -> String {
        let mut s = String::new();
        let mut section = |title: String, items: &[String]| {
            let _ = writeln!(s, "{title}");
            for i in items.iter().take(50) {
                let _ = writeln!(s, "  {i}");
            }
            if items.len() > 50 {
                let _ = writeln!(s, "  … {} more", items.len() - 50);
            }
        };
        section(
            format!(
                "objects: {} checked, {} corrupt",
                self.objects_checked,
                self.corrupt_objects.len()
            ),
            &self.corrupt_objects,
        );
        section(
            format!(
                "inputs vs {}: {} problem(s)",
                if self.reference.is_empty() {
                    "lock"
                } else {
                    self.reference.as_str()
                },
                self.input_problems.len()
            ),
            &self.input_problems,
        );
        section(
            format!("tasks missing from the store: {}", self.missing.len()),
            &self.missing,
        );
        section(
            format!(
                "recomputed: {} task(s), {} differ",
                self.recomputed,
                self.mismatches.len()
            ),
            &self.mismatches,
        );
        if !self.within_tolerance.is_empty() {
            section(
                format!(
                    "recomputed within the stated tolerance: {} task(s) differ only in FFT-based features ({}) by at most {:e} relative; accepted",
                    self.within_tolerance.len(),
                    FFT_FEATURES.join(", "),
                    FFT_TOLERANCE
                ),
                &self.within_tolerance,
            );
        }
        let _ = writeln!(
            s,
            "{}",
            if self.ok() {
                "audit passed"
            } else {
                "AUDIT FAILED"
            }
        );
        s
    }
}

/// Features computed through an FFT (rustfft chooses SIMD code paths by the
/// CPU's features at run time, so another machine may differ in the last
/// bits). Everything else radial computes is bit-identical across machines.
pub const FFT_FEATURES: [&str; 2] = ["morph_moran_i", "morph_geary_c"];

/// The relative difference accepted for [`FFT_FEATURES`] when a recomputed
/// output does not match the stored one byte for byte.
pub const FFT_TOLERANCE: f64 = 1e-9;

/// `Some(description)` when two feature outputs differ only in FFT-based
/// features, each within [`FFT_TOLERANCE`].
fn within_fft_tolerance(recomputed: &[u8], stored: &[u8]) -> Option<String> {
    let a = super::artifact::decode_features(recomputed).ok()?;
    let b = super::artifact::decode_features(stored).ok()?;
    if a.values.len() != b.values.len() {
        return None;
    }
    let mut worst = 0.0f64;
    for ((na, va), (nb, vb)) in a.values.iter().zip(&b.values) {
        if na != nb {
            return None;
        }
        if va.to_bits() == vb.to_bits() {
            continue;
        }
        if !FFT_FEATURES.contains(&na.as_str()) {
            return None;
        }
        let rel = (va - vb).abs() / va.abs().max(vb.abs()).max(f64::MIN_POSITIVE);
        // A NaN difference is not within the tolerance either.
        if rel.is_nan() || rel > FFT_TOLERANCE {
            return None;
        }
        worst = worst.max(rel);
    }
    Some(format!("largest relative difference {worst:e}"))
}

pub fn audit(plan: &Plan, opts: &AuditOptions) -> Result<AuditReport> {
    let store = Store::open(&plan.store_dir)?;
    let mut report = AuditReport::default();

    let hashes = store.object_hashes()?;
    report.objects_checked = hashes.len();
    report.corrupt_objects = hashes
        .par_iter()
        .filter_map(|h| match std::fs::read(store.object_path(h)) {
            Ok(bytes) if sha256_hex(&bytes) == *h => None,
            Ok(bytes) => Some(format!("{h}: content hashes to {}", sha256_hex(&bytes))),
            Err(e) => Some(format!("{h}: {e}")),
        })
        .collect();

    // Input files hashed afresh.
    let reads_files = plan.stages.iter().any(|s| s.kind.reads_case_files());
    let files: Vec<Option<(String, String)>> = plan
        .manifest
        .cases
        .par_iter()
        .map(|c| -> Result<_> {
            Ok(if reads_files {
                Some((sha256_file(&c.image)?, sha256_file(&c.mask)?))
            } else {
                None
            })
        })
        .collect::<Result<_>>()?;
    let lock = match &opts.reference {
        Some(r) => Some(r.clone()),
        None => read_lock(&plan.lock_path)?,
    };
    report.reference = opts
        .reference_name
        .clone()
        .unwrap_or_else(|| format!("lock {}", plan.lock_path.display()));
    match &lock {
        None => report
            .input_problems
            .push(format!("no lock file at {}", plan.lock_path.display())),
        Some(lock) => {
            let manifest_sha = super::runs::manifest_ref(plan, super::lock::lock_dir(plan))?.sha256;
            if lock.manifest.sha256 != manifest_sha {
                report.input_problems.push(format!(
                    "manifest {} differs from the lock",
                    plan.manifest.path.display()
                ));
            }
            for (case, f) in plan.manifest.cases.iter().zip(&files) {
                let Some((img, msk)) = f else { continue };
                match lock.inputs.get(&case.case_id) {
                    None => report
                        .input_problems
                        .push(format!("case `{}` is not in the lock", case.case_id)),
                    Some(l) => {
                        for (path, now, then) in [
                            (&case.image, img, &l.image.sha256),
                            (&case.mask, msk, &l.mask.sha256),
                        ] {
                            if now != then {
                                report.input_problems.push(format!(
                                    "case `{}`: {} hashes to {now}, the lock says {then}",
                                    case.case_id,
                                    path.display()
                                ));
                            }
                        }
                    }
                }
            }
            for st in &plan.stages {
                match lock.stages.get(&st.id) {
                    None => report
                        .input_problems
                        .push(format!("stage `{}` is not in the lock", st.id)),
                    Some(l) => {
                        for c in param_changes(&l.params, &st.params) {
                            report
                                .input_problems
                                .push(format!("stage `{}`: {c} (lock → now)", st.id));
                        }
                        // A run record does not list declared files; its
                        // task keys (checked below) cover them.
                        let files = if opts.reference.is_some() {
                            &[][..]
                        } else {
                            &st.files[..]
                        };
                        for (path, _) in files {
                            let now = sha256_file(path)?;
                            let shown = super::lock::declared_file_name(plan, path);
                            match l.files.iter().find(|f| f.path == shown) {
                                None => report
                                    .input_problems
                                    .push(format!("stage `{}`: {shown} is not in the lock", st.id)),
                                Some(f) if f.sha256 != now => report.input_problems.push(format!(
                                    "stage `{}`: {shown} hashes to {now}, the lock says {}",
                                    st.id, f.sha256
                                )),
                                Some(_) => {}
                            }
                        }
                        if l.version != st.kind.version() {
                            report.input_problems.push(format!(
                                "stage `{}`: code version {} in the lock, {} now",
                                st.id,
                                l.version,
                                st.kind.version()
                            ));
                        }
                    }
                }
            }
        }
    }
    let expected: BTreeMap<(String, String), String> = lock
        .iter()
        .flat_map(|l| l.stages.iter())
        .flat_map(|(id, st)| {
            st.tasks
                .iter()
                .map(move |(c, t)| ((id.clone(), c.clone()), t.output.clone()))
        })
        .collect();

    let resolved = resolve(plan, &store, &files);
    let mut candidates = Vec::new();
    for (s, stage) in plan.stages.iter().enumerate() {
        for (k, (r, t)) in resolved[s].iter().zip(plan.tasks_of(s)).enumerate() {
            let case = t.case;
            let name = case
                .map(|c| {
                    crate::pipeline::plan::task_label(&plan.manifest.cases[c].case_id, t.variant)
                })
                .unwrap_or("*".into());
            let want = expected.get(&(stage.id.clone(), name.clone()));
            match &r.cached {
                None => report.missing.push(format!(
                    "{}/{name}: no stored output for its current key",
                    stage.id
                )),
                Some(h) => {
                    if let Some(w) = want
                        && w != h
                    {
                        report.mismatches.push(format!(
                            "{}/{name}: stored output {h}, recorded {w}",
                            stage.id
                        ));
                    }
                    candidates.push((s, k, case, t.variant, h.clone(), name));
                }
            }
        }
    }
    let chosen: Vec<usize> = match opts.sample {
        Some(n) if n < candidates.len() => {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed);
            let mut idx = rand::seq::index::sample(&mut rng, candidates.len(), n).into_vec();
            idx.sort();
            idx
        }
        _ => (0..candidates.len()).collect(),
    };
    let scratch_dir = store
        .root
        .join(format!("audit-scratch-{}", std::process::id()));
    let scratch = Store::open(&scratch_dir)?;
    let results: Vec<(Option<String>, Option<String>)> = chosen
        .par_iter()
        .map(|&i| {
            let (s, k, case, variant, want, name) = &candidates[i];
            let stage = &plan.stages[*s];
            let outcome = (|| -> Result<(String, Vec<u8>)> {
                let data = task_data(plan, &store, *s, *case, *variant, &resolved[*s][*k].inputs)?
                    .map_err(|bad| {
                        Error::data(format!(
                            "input object {} is corrupt (its content hashes to {})",
                            bad.object.hash, bad.object.found
                        ))
                    })?;
                let bytes = stage.kind.run(&data, &stage.params)?;
                Ok((scratch.put_object(&bytes)?, bytes))
            })();
            match outcome {
                Ok((h, _)) if h == *want => (None, None),
                Ok((h, bytes)) => {
                    let tolerated = store
                        .read_object(want)
                        .ok()
                        .and_then(|stored| within_fft_tolerance(&bytes, &stored));
                    match tolerated {
                        Some(how) => (None, Some(format!("{}/{name}: {how}", stage.id))),
                        None => (
                            Some(format!(
                                "{}/{name}: recomputed output {h}, stored {want}",
                                stage.id
                            )),
                            None,
                        ),
                    }
                }
                Err(e) => (
                    Some(format!("{}/{name}: recomputation failed: {e}", stage.id)),
                    None,
                ),
            }
        })
        .collect();
    let _ = std::fs::remove_dir_all(&scratch_dir).map_err(|e| Error::io(&scratch_dir, e));
    report.within_tolerance.sort();
    report.recomputed = chosen.len();
    for (mismatch, tolerated) in results {
        report.mismatches.extend(mismatch);
        report.within_tolerance.extend(tolerated);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FeatureSet;
    use crate::pipeline::artifact::encode_features;

    fn set(moran: f64, other: f64) -> Vec<u8> {
        encode_features(&FeatureSet {
            values: vec![
                ("morph_volume".into(), other),
                ("morph_moran_i".into(), moran),
            ],
        })
    }

    #[test]
    fn only_fft_features_may_differ_and_only_within_the_tolerance() {
        let a = set(0.25, 100.0);
        assert!(within_fft_tolerance(&set(0.25 * (1.0 + 1e-13), 100.0), &a).is_some());
        assert!(within_fft_tolerance(&set(0.25 * (1.0 + 1e-6), 100.0), &a).is_none());
        assert!(within_fft_tolerance(&set(0.25, 100.0 + 1e-12), &a).is_none());
        assert!(within_fft_tolerance(b"not features", &a).is_none());
    }
}
