//! `radial evaluate`: cross-validate a protocol on a feature table, then fit
//! the final model; writes `<id>.metrics.json`, `<id>.html` and `<id>.model.json`.

use std::path::PathBuf;

use anyhow::Context;

use crate::learn::table::{FeatureTable, TableSpec, sha256_hex};
use crate::learn::{ExtractionRecipe, evaluate, fit_final, protocol};
use crate::processing::ExtractionSettings;
use crate::report::{ReportContext, render_html};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Feature table (CSV or Parquet), one row per case.
    #[arg(long)]
    pub table: PathBuf,
    /// Column holding the binary outcome.
    #[arg(long)]
    pub label_column: String,
    /// Value of the label column that is the positive class.
    #[arg(long)]
    pub positive: String,
    /// Column of unique case ids.
    #[arg(long, default_value = "case_id")]
    pub id_column: String,
    /// Non-feature columns to leave out (repeatable).
    #[arg(long)]
    pub ignore: Vec<String>,
    /// Protocol YAML (see `radial::learn::protocol`).
    #[arg(long)]
    pub protocol: PathBuf,
    /// Output directory.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Name of the outputs (default: the protocol file's stem).
    #[arg(long)]
    pub id: Option<String>,
    /// Skip fitting and writing the final model.
    #[arg(long)]
    pub no_model: bool,
    /// The `radial extract` settings file the table was extracted with:
    /// recorded in the model so that `radial predict --image --mask` can
    /// score new cases from their images.
    #[arg(long, conflicts_with = "no_model")]
    pub extraction_settings: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // A bad settings file fails before the cross-validation runs.
    let extraction = args
        .extraction_settings
        .as_deref()
        .map(ExtractionSettings::from_yaml_file)
        .transpose()?;
    let text = std::fs::read_to_string(&args.protocol)
        .with_context(|| format!("reading {}", args.protocol.display()))?;
    let protocol =
        protocol::from_yaml(&text).with_context(|| format!("in {}", args.protocol.display()))?;
    let spec = TableSpec {
        id_column: args.id_column.clone(),
        label_column: args.label_column.clone(),
        positive: args.positive.clone(),
        ignore: args.ignore.clone(),
    }
    .with_side_columns(&protocol.side_columns());
    let table = FeatureTable::read(&args.table, &spec)?;
    let id = args.id.clone().unwrap_or_else(|| {
        args.protocol
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "evaluation".into())
    });
    let evaluation = evaluate(&table, &protocol, protocol.seed)?;
    let json = serde_json::to_vec_pretty(&evaluation)?;
    let metrics_path = args.out.join(format!("{id}.metrics.json"));
    crate::io::atomic::write_bytes(&metrics_path, &json)?;
    let context = ReportContext {
        title: format!("radial evaluation: {id}"),
        run_id: None,
        parameter_hash: Some(sha256_hex(serde_json::to_string(&protocol)?.as_bytes())),
        extra: vec![("protocol file".into(), args.protocol.display().to_string())],
    };
    let html_path = args.out.join(format!("{id}.html"));
    crate::io::atomic::write_bytes(&html_path, render_html(&evaluation, &context).as_bytes())?;
    let mut written = vec![metrics_path, html_path];
    if !args.no_model {
        let mut model = fit_final(&table, &protocol)?;
        model.extraction = extraction.map(ExtractionRecipe::from_settings);
        let model_path = args.out.join(format!("{id}.model.json"));
        model.save(&model_path)?;
        written.push(model_path);
    }
    let s = &evaluation.summary;
    let pooled = &evaluation.pooled.auc;
    crate::outln!(
        "{id}: mean AUC {:.4} (sd {:.4}) over {} folds; pooled AUC {:.4} (95% CI {:.4}-{:.4})",
        s.auc_mean,
        s.auc_sd,
        evaluation.folds.len(),
        pooled.value,
        pooled.lower,
        pooled.upper
    )?;
    for path in written {
        crate::outln!("wrote {}", path.display())?;
    }
    Ok(())
}
