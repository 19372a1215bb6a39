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
use super::stages::Scope;
use super::store::Store;
use crate::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Recompute this many sampled tasks (all when `None`).
    pub sample: Option<usize>,
    pub seed: u64,
    /// Expected outputs by (stage, case or `*`), e.g. from a run record;
    /// when `None` the lock file's are used.
    pub expected: Option<BTreeMap<(String, String), String>>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditReport {
    pub objects_checked: usize,
    pub corrupt_objects: Vec<String>,
    pub input_problems: Vec<String>,
    pub missing: Vec<String>,
    pub recomputed: usize,
    pub mismatches: Vec<String>,
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
            format!("inputs vs lock: {} problem(s)", self.input_problems.len()),
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
    let lock = read_lock(&plan.lock_path)?;
    match &lock {
        None => report
            .input_problems
            .push(format!("no lock file at {}", plan.lock_path.display())),
        Some(lock) => {
            let manifest_sha = super::runs::manifest_ref(plan)?.sha256;
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
                        for (path, _) in &st.files {
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
    let expected: BTreeMap<(String, String), String> = match &opts.expected {
        Some(e) => e.clone(),
        None => lock
            .iter()
            .flat_map(|l| l.stages.iter())
            .flat_map(|(id, st)| {
                st.tasks
                    .iter()
                    .map(move |(c, t)| ((id.clone(), c.clone()), t.output.clone()))
            })
            .collect(),
    };

    let resolved = resolve(plan, &store, &files);
    let mut candidates = Vec::new();
    for (s, stage) in plan.stages.iter().enumerate() {
        for (k, r) in resolved[s].iter().enumerate() {
            let case = (stage.scope == Scope::PerCase).then_some(k);
            let name = case
                .map(|c| plan.manifest.cases[c].case_id.clone())
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
                    candidates.push((s, case, h.clone(), name));
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
    let results: Vec<Option<String>> = chosen
        .par_iter()
        .map(|&i| {
            let (s, case, want, name) = &candidates[i];
            let stage = &plan.stages[*s];
            let outcome = (|| -> Result<String> {
                let data = task_data(
                    plan,
                    &store,
                    *s,
                    *case,
                    &resolved[*s][case.unwrap_or(0)].inputs,
                )?;
                let bytes = stage.kind.run(&data, &stage.params)?;
                scratch.put_object(&bytes)
            })();
            match outcome {
                Ok(h) if h == *want => None,
                Ok(h) => Some(format!(
                    "{}/{name}: recomputed output {h}, stored {want}",
                    stage.id
                )),
                Err(e) => Some(format!("{}/{name}: recomputation failed: {e}", stage.id)),
            }
        })
        .collect();
    let _ = std::fs::remove_dir_all(&scratch_dir).map_err(|e| Error::io(&scratch_dir, e));
    report.recomputed = chosen.len();
    report.mismatches.extend(results.into_iter().flatten());
    Ok(report)
}
