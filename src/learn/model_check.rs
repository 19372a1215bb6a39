//! Consistency checks of a model artifact read from disk. A model file is
//! plain JSON that people can edit; every index and length the scoring code
//! relies on is checked here, once, when the model is loaded, so that a
//! hand-edited or damaged model is refused with the field named instead of
//! crashing (or scoring garbage) in `predict`.

use super::fitted::FittedPipeline;
use super::model::ModelArtifact;
use super::models::Classifier;
use super::models::forest::{Node, Tree};
use super::protocol::SvmKernel;

/// The first inconsistency found, as a message naming the field.
pub fn check(model: &ModelArtifact) -> Result<(), String> {
    model.protocol.validate().map_err(|e| e.to_string())?;
    if model.pipeline.harmonisation.is_some() != model.protocol.combat.is_some() {
        return Err(
            "`pipeline.harmonisation` and `protocol.combat` must be both present or both absent"
                .into(),
        );
    }
    let n_inputs = model.input_features.len();
    if n_inputs == 0 {
        return Err("`input_features` is empty".into());
    }
    if let Some(recipe) = &model.extraction {
        for (i, source) in recipe.sources.iter().enumerate() {
            source
                .settings
                .validate()
                .map_err(|e| format!("`extraction.sources[{i}].settings`: {e}"))?;
        }
    }
    check_pipeline(&model.pipeline, n_inputs)
}

fn check_pipeline(p: &FittedPipeline, n_inputs: usize) -> Result<(), String> {
    if p.columns.is_empty() {
        return Err("`pipeline.columns` is empty".into());
    }
    if let Some(&bad) = p.columns.iter().find(|&&c| c >= n_inputs) {
        return Err(format!(
            "`pipeline.columns` refers to column {bad}, but `input_features` has {n_inputs} \
             (indices 0 to {})",
            n_inputs - 1
        ));
    }
    let k = p.columns.len();
    if let Some(h) = &p.harmonisation {
        length("pipeline.harmonisation.fill", h.fill.len(), k)?;
        finite("pipeline.harmonisation.fill", &h.fill)?;
        h.combat
            .check(k)
            .map_err(|e| e.replace("`combat.", "`pipeline.harmonisation.combat."))?;
    }
    let pre = &p.preprocessor;
    for (name, values) in [
        ("fill", &pre.fill),
        ("mean", &pre.mean),
        ("scale", &pre.scale),
        ("variance", &pre.variance),
    ] {
        if values.len() != k {
            return Err(format!(
                "`pipeline.preprocessor.{name}` has {} values for {k} columns",
                values.len()
            ));
        }
        finite(&format!("pipeline.preprocessor.{name}"), values)?;
    }
    if let Some(i) = pre.scale.iter().position(|&s| s == 0.0) {
        return Err(format!("`pipeline.preprocessor.scale[{i}]` is 0"));
    }
    check_classifier(&p.classifier, k)
}

fn check_classifier(c: &Classifier, k: usize) -> Result<(), String> {
    match c {
        Classifier::Logistic { model } => {
            length("pipeline.classifier.model.weights", model.weights.len(), k)?;
            finite("pipeline.classifier.model.weights", &model.weights)?;
            finite("pipeline.classifier.model.intercept", &[model.intercept])
        }
        Classifier::Svm { model, platt } => {
            finite("pipeline.classifier.platt", &[platt.0, platt.1])?;
            finite("pipeline.classifier.model.rho", &[model.rho])?;
            match model.kernel {
                SvmKernel::Linear => {
                    length("pipeline.classifier.model.weights", model.weights.len(), k)?;
                    finite("pipeline.classifier.model.weights", &model.weights)
                }
                SvmKernel::Rbf => {
                    finite("pipeline.classifier.model.gamma", &[model.gamma])?;
                    length(
                        "pipeline.classifier.model.coefficients",
                        model.coefficients.len(),
                        model.support_vectors.len(),
                    )?;
                    finite(
                        "pipeline.classifier.model.coefficients",
                        &model.coefficients,
                    )?;
                    for (i, sv) in model.support_vectors.iter().enumerate() {
                        let field = format!("pipeline.classifier.model.support_vectors[{i}]");
                        length(&field, sv.len(), k)?;
                        finite(&field, sv)?;
                    }
                    Ok(())
                }
            }
        }
        Classifier::RandomForest { model } => {
            if model.trees.is_empty() {
                return Err("`pipeline.classifier.model.trees` is empty".into());
            }
            for (t, tree) in model.trees.iter().enumerate() {
                check_tree(tree, k).map_err(|e| format!("tree {t}: {e}"))?;
            }
            Ok(())
        }
    }
}

/// Scoring walks from node 0 to a leaf: every child must exist and come
/// after its parent (as the forest grows them), so the walk always ends.
fn check_tree(tree: &Tree, k: usize) -> Result<(), String> {
    if tree.nodes.is_empty() {
        return Err("no nodes".into());
    }
    let n = tree.nodes.len();
    for (at, node) in tree.nodes.iter().enumerate() {
        match *node {
            Node::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                if feature >= k {
                    return Err(format!(
                        "node {at} splits on column {feature}, but the model has {k} columns"
                    ));
                }
                if threshold.is_nan() {
                    return Err(format!("node {at} has no threshold"));
                }
                for child in [left, right] {
                    if child <= at || child >= n {
                        return Err(format!(
                            "node {at} points to node {child} (nodes {} to {})",
                            at + 1,
                            n - 1
                        ));
                    }
                }
            }
            Node::Leaf { positive_fraction } => {
                if !(0.0..=1.0).contains(&positive_fraction) {
                    return Err(format!(
                        "node {at}: positive fraction {positive_fraction} is outside [0, 1]"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn length(field: &str, got: usize, expected: usize) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("`{field}` has {got} values; {expected} expected"))
    }
}

fn finite(field: &str, values: &[f64]) -> Result<(), String> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(format!("`{field}` value {i} is not a finite number")),
    }
}
