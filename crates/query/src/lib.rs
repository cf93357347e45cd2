//! trailsift-query: the SQL engine. A DataFusion session with the `cloudtrail` and
//! `vpc_flow` tables over
//! raw evidence (streamed through trailsift's ingest pipeline, no import step) or over a
//! Parquet store written by `trailsift ingest` — the same schema and the same answers either
//! way. This crate knows SQL and tables, not forensics or terminals.

mod array_cast;
pub mod duplicates;
pub mod evidence;
pub mod held;
mod lambda;
pub mod leaves;
pub mod net;
pub mod pushdown;
pub mod stage;
pub mod trino;
mod trino_fns;
pub mod udf;
pub mod vpc;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};
use trailsift_ingest::discover::{DiscoverOptions, WalkProblem, discover};
use trailsift_ingest::scan::{FileReport, ScanOptions};
use trailsift_ingest::schema::cloudtrail_schema;
use trailsift_ingest::vpc::vpc_flow_schema;

pub use duplicates::{
    CopyTracker, DroppedCopies, DuplicateConflict, DuplicateReport, EvidenceLocation, dropped_copies, duplicate_report,
    duplicate_report_where, hold_unique, unique_scan, unique_where,
};
pub use evidence::{EvidenceTable, ScanLog, ScanStats};
pub use held::{HELD_BYTES, Held, HeldRows};
pub use stage::{StageOptions, StageProgress, StageSummary};
pub use trino::{output_names, trino_compat};
pub use vpc::{IpFlowActivity, VpcEvidenceTable, ip_flow_activity};

/// Plans `sql`, written for Trino (Athena), in `ctx`: [`trino_compat`] rewrites the spellings
/// DataFusion's parser does not take, and a query that passes lambdas (`x -> …`) to
/// `any_match`, `all_match`, `none_match`, `transform` or `filter` is planned from its syntax
/// tree with DataFusion's lambdas (see the `lambda` module).
pub async fn plan_trino(ctx: &SessionContext, sql: &str) -> Result<DataFrame, DataFusionError> {
    let text = trino_compat(sql);
    match lambda::with_lambdas(&text) {
        Some(statement) => {
            let statement = datafusion::sql::parser::Statement::Statement(Box::new(statement));
            let plan = ctx.state().statement_to_plan(statement).await?;
            ctx.execute_logical_plan(plan).await
        }
        None => ctx.sql(&text).await,
    }
}

/// Errors of the query layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// Stores and raw evidence were given together.
    #[error(
        "cannot mix stores and raw evidence in one query: {store} is a trailsift store (query stores and evidence separately)"
    )]
    MixedInputs {
        /// A store among the inputs.
        store: String,
    },
    /// A store could not be opened.
    #[error("cannot open store {path}: {reason}")]
    Store {
        /// The store.
        path: String,
        /// Why.
        reason: String,
    },
    /// Held rows could not be written to a temporary folder.
    #[error("cannot write held rows to a temporary folder: {reason} (set TMPDIR to a writable folder with free space)")]
    Spill {
        /// Why.
        reason: String,
    },
    /// Raw evidence could not be staged into a temporary store.
    #[error("cannot stage the evidence into a temporary store: {reason}")]
    Stage {
        /// Why.
        reason: String,
    },
    /// A DataFusion setting in the environment could not be applied.
    #[error("cannot apply the setting {var} from the environment: {reason} (unset it or give a valid value)")]
    Setting {
        /// The environment variable.
        var: String,
        /// Why.
        reason: String,
    },
    /// DataFusion reported an error (bad SQL, unknown column, …).
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
}

/// Rows per batch of the answers [`Engine::materialise_at_most`] and [`Engine::hold`] keep.
pub const MATERIALISED_BATCH_ROWS: usize = 8192;

/// Options for [`Engine::open`].
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Scan options for raw evidence.
    pub scan: ScanOptions,
    /// Discovery options for raw evidence.
    pub discover: DiscoverOptions,
    /// Rows per batch in DataFusion's operators (`datafusion.execution.batch_size`; `None`:
    /// DataFusion's 8192). A hunt runs four detections side by side, each with a batch in
    /// flight in every operator of every partition, so fewer rows bound its memory.
    pub batch_rows: Option<usize>,
}

/// Whether `path` is a trailsift store (a directory with `manifest.json`).
pub fn is_store(path: &Path) -> bool {
    path.is_dir() && path.join("manifest.json").is_file()
}

/// A DataFusion session with trailsift's tables registered.
pub struct Engine {
    ctx: SessionContext,
    log: Arc<ScanLog>,
    walk_problems: Vec<WalkProblem>,
    evidence_files: Option<usize>,
    /// Files with problems met while staging ([`Engine::open_staged`]).
    staged_problems: Vec<FileReport>,
    /// The temporary store of a staged engine, removed with it.
    _stage: Option<tempfile::TempDir>,
}

impl Engine {
    /// Opens `paths`: all stores, or all raw evidence (files and directories).
    pub async fn open(paths: &[PathBuf], opts: EngineOptions) -> Result<Self, QueryError> {
        let threads = opts.scan.worker_count();
        // Athena's names: queries that say `default.cloudtrail` or `awsdatacatalog.default.…`
        // resolve as they do there.
        let mut config = SessionConfig::new();
        if let Some(rows) = opts.batch_rows {
            config = config.with_batch_size(rows.max(1));
        }
        let config = config
            .with_default_catalog_and_schema("awsdatacatalog", "default")
            .with_target_partitions(threads.max(1))
            .with_information_schema(true)
            .set_bool("datafusion.execution.parquet.pushdown_filters", true)
            .set_bool("datafusion.execution.parquet.reorder_filters", true)
            // Statistics of every column of every store file, gathered while planning, cost a
            // second read of each footer and most of a key lookup's time; the scan still
            // prunes with each file's statistics and filters as it opens it.
            .set_bool("datafusion.execution.collect_statistics", false)
            // Trino sorts NULLs last whichever the direction.
            .set_str("datafusion.sql_parser.default_null_ordering", "nulls_last");
        let ctx = SessionContext::new_with_config(with_env_settings(config)?);
        ctx.add_optimizer_rule(Arc::new(leaves::StructLeaves));
        udf::register(&ctx);
        let log = Arc::new(ScanLog::default());
        let stores: Vec<&PathBuf> = paths.iter().filter(|p| is_store(p)).collect();
        let mut walk_problems = Vec::new();
        let mut evidence_files = None;
        if !stores.is_empty() {
            if stores.len() != paths.len() {
                return Err(QueryError::MixedInputs { store: stores[0].display().to_string() });
            }
            let table = store_table(&stores, "cloudtrail", cloudtrail_schema()).await?;
            register_cloudtrail(&ctx, table)?;
            let flows = store_table(&stores, "vpc_flow", vpc_flow_schema()).await?;
            ctx.register_table("vpc_flow", flows)?;
        } else {
            let found = discover(paths, &opts.discover);
            walk_problems = found.problems;
            evidence_files = Some(found.files.len());
            let flows = VpcEvidenceTable::new(found.files.clone(), opts.scan.clone(), log.clone());
            ctx.register_table("vpc_flow", Arc::new(flows))?;
            let table = EvidenceTable::new(found.files, opts.scan.clone(), log.clone());
            register_cloudtrail(&ctx, Arc::new(table))?;
        }
        duplicates::register_unique_view(&ctx).await?;
        Ok(Self { ctx, log, walk_problems, evidence_files, staged_problems: Vec::new(), _stage: None })
    }

    /// The DataFusion session.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Plans `sql` (after [`trino_compat`] has rewritten the Trino spellings DataFusion's
    /// parser does not take).
    ///
    /// On a store, a query whose filters all test fields of struct columns (a key lookup:
    /// `useridentity.accesskeyid = …`) reads without Parquet filter pushdown. DataFusion 55
    /// prunes nothing on a struct field, so pushdown only turns the key's rows, spread over
    /// every row group, into a scattered row selection that costs more to follow than the
    /// columns cost to decode: the busiest key of the 2 GB store took 0.100 s with it and
    /// 0.084 s without, and `SELECT *` the same either way. Filters on top-level columns
    /// (bloom filters, statistics) keep it: a rare source IP took 0.053 s with it and 0.069 s
    /// without.
    pub async fn sql(&self, sql: &str) -> Result<DataFrame, QueryError> {
        let df = plan_trino(&self.ctx, sql).await?;
        if self.evidence_files.is_some() || !filters_only_on_structs(df.logical_plan()) {
            return Ok(df);
        }
        let (state, plan) = df.into_parts();
        // The session's catalog (and its tables) is kept, not made anew.
        let mut config = state.config().clone().with_create_default_catalog_and_schema(false);
        config.options_mut().execution.parquet.pushdown_filters = false;
        let state = datafusion::execution::SessionStateBuilder::new_from_existing(state).with_config(config).build();
        Ok(DataFrame::new(state, plan))
    }

    /// Runs `df` and keeps its answer in memory, to query again: its schema and batches,
    /// ready for a `MemTable`; `None` as soon as the answer passes `max_rows` rows (memory
    /// stays bounded). [`Engine::hold`] keeps an answer of any size, on disk past a budget.
    ///
    /// Scans of raw evidence give a small batch per matching file: thousands of them, each
    /// with its own buffers for every column. They are merged into batches of
    /// [`MATERIALISED_BATCH_ROWS`] as they arrive, which keeps the answer (and the queries
    /// over it) near the size of its data. `watch` sees each batch as it arrives (e.g. a
    /// [`CopyTracker`] finding duplicate copies in the same pass).
    pub async fn materialise_at_most(
        &self,
        df: DataFrame,
        max_rows: usize,
        watch: &mut (dyn FnMut(&RecordBatch) -> Result<(), QueryError> + Send),
    ) -> Result<Option<(SchemaRef, Vec<RecordBatch>)>, QueryError> {
        use futures::StreamExt;
        let schema = df.schema().inner().clone();
        let mut stream = df.execute_stream().await?;
        let mut merger = Merger::new(schema.clone());
        let (mut merged, mut rows) = (Vec::new(), 0usize);
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            watch(&batch)?;
            rows += batch.num_rows();
            if rows > max_rows {
                return Ok(None);
            }
            merged.extend(merger.push(batch)?);
        }
        merged.extend(merger.finish()?);
        Ok(Some((schema, merged)))
    }

    /// Evidence files that could not be read completely: by the scans run so far, or, for a
    /// staged engine, while staging.
    pub fn problems(&self) -> Vec<FileReport> {
        let mut all = self.staged_problems.clone();
        all.extend(self.log.problems());
        all
    }

    /// What the scans so far read, skipped and pruned.
    pub fn scan_stats(&self) -> ScanStats {
        self.log.stats()
    }

    /// Evidence files found by the walk (raw evidence; `None` for a store).
    pub fn evidence_files(&self) -> Option<usize> {
        self.evidence_files
    }

    /// Problems met while walking the evidence.
    pub fn walk_problems(&self) -> &[WalkProblem] {
        &self.walk_problems
    }
}

/// Whether `plan` filters rows, and every column its filters read is a struct (they test
/// fields of `useridentity`, `tlsdetails`, …).
fn filters_only_on_structs(plan: &datafusion::logical_expr::LogicalPlan) -> bool {
    use datafusion::common::ExprSchema;
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::LogicalPlan;
    let (mut filters, mut on_structs) = (0usize, true);
    let _ = plan.apply(|node| {
        if let LogicalPlan::Filter(f) = node {
            filters += 1;
            for c in f.predicate.column_refs() {
                let is_struct = f
                    .input
                    .schema()
                    .field_from_column(c)
                    .is_ok_and(|field| matches!(field.data_type(), arrow::datatypes::DataType::Struct(_)));
                on_structs &= is_struct;
            }
        }
        Ok(if on_structs { TreeNodeRecursion::Continue } else { TreeNodeRecursion::Stop })
    });
    filters > 0 && on_structs
}

/// Merges the small batches of a scan (one per matching file) into batches of
/// [`MATERIALISED_BATCH_ROWS`] as they arrive.
pub(crate) struct Merger {
    schema: SchemaRef,
    pending: Vec<RecordBatch>,
    rows: usize,
}

impl Merger {
    pub(crate) fn new(schema: SchemaRef) -> Self {
        Self { schema, pending: Vec::new(), rows: 0 }
    }

    /// Takes `batch`; gives a merged batch once enough rows are pending.
    pub(crate) fn push(&mut self, batch: RecordBatch) -> Result<Option<RecordBatch>, QueryError> {
        if batch.num_rows() == 0 {
            return Ok(None);
        }
        self.rows += batch.num_rows();
        self.pending.push(batch);
        if self.rows >= MATERIALISED_BATCH_ROWS { self.finish() } else { Ok(None) }
    }

    /// The rows still pending, merged.
    pub(crate) fn finish(&mut self) -> Result<Option<RecordBatch>, QueryError> {
        if self.pending.is_empty() {
            return Ok(None);
        }
        let merged =
            arrow::compute::concat_batches(&self.schema, self.pending.iter()).map_err(DataFusionError::from)?;
        self.pending.clear();
        self.rows = 0;
        Ok(Some(merged))
    }
}

/// `config` with every DataFusion setting given in the environment applied over it: the
/// setting `datafusion.execution.batch_size` is read from `DATAFUSION_EXECUTION_BATCH_SIZE`,
/// as DataFusion's own tools name them. For tuning and measuring; the defaults above are the
/// ones trailsift is measured with.
fn with_env_settings(mut config: SessionConfig) -> Result<SessionConfig, QueryError> {
    for entry in config.options().entries() {
        let var = entry.key.to_ascii_uppercase().replace('.', "_");
        if let Ok(value) = std::env::var(&var) {
            config
                .options_mut()
                .set(&entry.key, &value)
                .map_err(|e| QueryError::Setting { var: var.clone(), reason: e.to_string() })?;
        }
    }
    Ok(config)
}

/// Table names a CloudTrail query may use: ours, and `cloudtrail_logs`, the name AWS's
/// documentation and console give the Athena table.
pub const CLOUDTRAIL_TABLE_NAMES: [&str; 2] = ["cloudtrail", "cloudtrail_logs"];

fn register_cloudtrail(
    ctx: &SessionContext,
    table: Arc<dyn datafusion::datasource::TableProvider>,
) -> Result<(), QueryError> {
    for name in CLOUDTRAIL_TABLE_NAMES {
        ctx.register_table(name, table.clone())?;
    }
    Ok(())
}

/// The table `name` of `stores` (an empty table when no store has that folder: stores
/// written before `vpc_flow` existed, or evidence without flow logs).
async fn store_table(
    stores: &[&PathBuf],
    name: &str,
    schema: arrow::datatypes::SchemaRef,
) -> Result<Arc<dyn datafusion::datasource::TableProvider>, QueryError> {
    let mut urls = Vec::new();
    for s in stores {
        let dir = s.join(name);
        if name != "cloudtrail" && !dir.is_dir() {
            continue;
        }
        let abs = std::path::absolute(&dir)
            .map_err(|e| QueryError::Store { path: s.display().to_string(), reason: e.to_string() })?;
        let text = format!("{}/", abs.display());
        urls.push(ListingTableUrl::parse(&text)?);
    }
    if urls.is_empty() {
        return Ok(Arc::new(datafusion::datasource::MemTable::try_new(schema, vec![vec![]])?));
    }
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(schema);
    Ok(Arc::new(ListingTable::try_new(config)?))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{DataType, Field, Fields, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionContext;

    use super::filters_only_on_structs;

    #[tokio::test]
    async fn pushdown_is_left_off_only_for_filters_on_struct_fields() {
        let s = DataType::Struct(Fields::from(vec![Field::new("a", DataType::Utf8, true)]));
        let schema = Arc::new(Schema::new(vec![Field::new("s", s, true), Field::new("b", DataType::Int64, true)]));
        let ctx = SessionContext::new();
        ctx.register_table("t", Arc::new(MemTable::try_new(schema, vec![vec![]]).unwrap())).unwrap();
        for (sql, want) in [
            ("SELECT b FROM t WHERE s.a = 'x'", true),
            ("SELECT b FROM t WHERE s.a IN ('x', 'y') AND s.a IS NOT NULL", true),
            ("SELECT b FROM t WHERE s.a = 'x' AND b = 1", false),
            ("SELECT b FROM t WHERE b = 1", false),
            ("SELECT b FROM t", false),
            ("SELECT count(*) FROM t GROUP BY b HAVING count(*) > 1", false),
        ] {
            let df = ctx.sql(sql).await.unwrap();
            assert_eq!(filters_only_on_structs(df.logical_plan()), want, "{sql}");
        }
    }
}
