//! Task keys: SHA-256 over the stage kind and its implementation version,
//! the canonical declared parameters, and the content hashes of the task's
//! inputs. A task's own stage id and the case id of a per-case task are not
//! part of its key, so identical inputs share a result; the ids of its input
//! stages are (a kind may read them, e.g. `collect` to prefix columns), so
//! renaming a stage reruns only its direct readers, which early cutoff stops.

use super::hash::sha256_hex;
use super::manifest::Case;
use super::stages::StageKind;

/// Builds the text a key hashes; one line per element, so no two different
/// input lists can produce the same text.
pub struct KeyBuilder {
    text: String,
}

impl KeyBuilder {
    pub fn new(kind: &dyn StageKind, params_canonical: &str) -> Self {
        let mut text = String::with_capacity(256);
        text.push_str("radial task key 1\n");
        text.push_str(&format!(
            "kind {}\nversion {}\nparams {params_canonical}\n",
            kind.name(),
            kind.version()
        ));
        KeyBuilder { text }
    }

    /// A file the stage declared, by content.
    pub fn file(mut self, position: usize, sha256: &str) -> Self {
        self.text.push_str(&format!("file {position} {sha256}\n"));
        self
    }

    /// The image and mask files of a case (for stages that read them).
    pub fn case_files(mut self, case: &Case, image_sha: &str, mask_sha: &str) -> Self {
        self.text.push_str(&format!(
            "image {image_sha}\nmask {mask_sha}\nlabel {}\nroi {:?}\n",
            case.label, case.roi
        ));
        // Written only when given, so that the keys of every case without
        // a series choice stay what they were before the column existed.
        if let Some(series) = &case.series {
            self.text.push_str(&format!("series {series:?}\n"));
        }
        self
    }

    /// The case and variant a fanning-out task (`perturb`) makes: its
    /// output depends on both, not only on its input's content.
    pub fn variant(mut self, case_id: &str, variant: u32) -> Self {
        self.text
            .push_str(&format!("variant {case_id:?} {variant}\n"));
        self
    }

    /// The output of one input stage (per-case task).
    pub fn input(mut self, position: usize, stage_id: &str, output_hash: &str) -> Self {
        self.text
            .push_str(&format!("input {position} {stage_id:?} {output_hash}\n"));
        self
    }

    /// The outputs of one input stage over the cohort (cohort task).
    pub fn cohort_input<'a>(
        mut self,
        position: usize,
        stage_id: &str,
        items: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        self.text
            .push_str(&format!("input {position} {stage_id:?}\n"));
        for (case_id, hash) in items {
            self.text.push_str(&format!("  case {case_id:?} {hash}\n"));
        }
        self
    }

    /// Manifest columns a cohort task may read (outcomes, covariates).
    pub fn outcomes(mut self, columns: &[String], cases: &[&Case]) -> Self {
        let table: Vec<(&str, &Vec<String>)> = cases
            .iter()
            .map(|c| (c.case_id.as_str(), &c.outcomes))
            .collect();
        self.text
            .push_str(&format!("outcomes {columns:?} {table:?}\n"));
        self
    }

    pub fn finish(self) -> String {
        sha256_hex(self.text.as_bytes())
    }
}

/// The outputs a task reads: per input stage, `(case id, output hash)`
/// items (one for a per-case task or a cohort input, one per included case
/// for a cohort task reading a per-case stage; `*` names a cohort output).
pub type InputOutputs = Vec<Vec<(String, String)>>;

/// The key of task (stage `s`, case `case`, variant `variant`) of a plan.
/// `files` are the case's (image, mask) content hashes; `included` the
/// cases a cohort task covers. The variant enters only the key of the stage
/// that makes the variants; downstream, the variants' inputs differ.
pub fn task_key(
    plan: &super::plan::Plan,
    s: usize,
    case: Option<usize>,
    variant: Option<u32>,
    files: Option<&(String, String)>,
    inputs: &InputOutputs,
    included: &[usize],
) -> String {
    let stage = &plan.stages[s];
    let params = stage.params_text();
    let mut kb = KeyBuilder::new(stage.kind.as_ref(), &params);
    for (pos, (_, sha)) in stage.files.iter().enumerate() {
        kb = kb.file(pos, sha);
    }
    match case {
        Some(c) => {
            // A phased `load` reads its phase's files, hashed at planning.
            let files = match &stage.case_files {
                Some(per_case) => per_case.get(c),
                None => files,
            };
            if stage.kind.reads_case_files()
                && let Some((img, msk)) = files
            {
                kb = kb.case_files(&plan.manifest.cases[c], img, msk);
            }
            if let (Some(v), Some(vs)) = (variant, stage.variants)
                && vs.perturb == s
            {
                kb = kb.variant(&plan.manifest.cases[c].case_id, v);
            }
            for (pos, items) in inputs.iter().enumerate() {
                for (_, h) in items {
                    kb = kb.input(pos, &plan.stages[stage.inputs[pos]].id, h);
                }
            }
            kb.finish()
        }
        None => {
            for (pos, items) in inputs.iter().enumerate() {
                kb = kb.cohort_input(
                    pos,
                    &plan.stages[stage.inputs[pos]].id,
                    items.iter().map(|(c, h)| (c.as_str(), h.as_str())),
                );
            }
            let cases: Vec<&Case> = included.iter().map(|&c| &plan.manifest.cases[c]).collect();
            kb.outcomes(&plan.manifest.outcome_columns, &cases).finish()
        }
    }
}
