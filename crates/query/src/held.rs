//! Answers held to be queried again (a key's records, read once for a whole report): in
//! memory up to a budget, in a temporary Parquet folder past it.
//!
//! A key report reads the lineage's records once and runs dozens of queries and detections
//! over them. Held in memory they cost about 1.1 KB per event with every column: 190 MB for
//! the 169,223 events of the 10 GiB benchmark's lineage, on top of a scan's own working
//! memory. Past [`HELD_BYTES`], [`Engine::hold`] writes them to a Parquet file in a temporary
//! folder (never in the evidence tree) instead, and [`Held::table`] reads them from there:
//! each query decodes only the columns it uses, and memory stays flat.

use std::fs::File;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::{MemTable, TableProvider, TableType};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::{Engine, MATERIALISED_BATCH_ROWS, QueryError};

/// Most bytes of Arrow arrays [`Engine::hold`] keeps in memory before it spills to disk.
pub const HELD_BYTES: usize = 96 << 20;

/// Where held rows are.
#[derive(Debug, Clone)]
pub enum HeldRows {
    /// In memory, in batches of about [`MATERIALISED_BATCH_ROWS`] rows.
    Memory(Vec<RecordBatch>),
    /// In `part-00000.parquet` of a temporary folder, removed when the last clone is dropped.
    Spilled(Arc<tempfile::TempDir>),
}

/// Rows held by [`Engine::hold`]. Cloning shares them.
#[derive(Debug, Clone)]
pub struct Held {
    /// Their schema.
    pub schema: SchemaRef,
    /// Where they are.
    pub rows: HeldRows,
    /// How many there are.
    pub count: u64,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.schema == other.schema
            && self.count == other.count
            && match (&self.rows, &other.rows) {
                (HeldRows::Memory(a), HeldRows::Memory(b)) => a == b,
                (HeldRows::Spilled(a), HeldRows::Spilled(b)) => a.path() == b.path(),
                _ => false,
            }
    }
}

impl Held {
    /// Whether the rows were written to disk.
    pub fn is_spilled(&self) -> bool {
        matches!(self.rows, HeldRows::Spilled(_))
    }

    /// A table of these rows.
    pub fn table(&self) -> Result<Arc<dyn TableProvider>, QueryError> {
        Held::table_of(std::slice::from_ref(self))
    }

    /// One table of the rows of every part of `parts` (all of one schema; at least one).
    /// When any part is on disk, the parts in memory are written beside it first.
    pub fn table_of(parts: &[Held]) -> Result<Arc<dyn TableProvider>, QueryError> {
        let Some(first) = parts.first() else {
            return Err(DataFusionError::Internal("no held rows to make a table of".into()).into());
        };
        let schema = first.schema.clone();
        if parts.iter().all(|p| !p.is_spilled()) {
            let batches: Vec<RecordBatch> = parts
                .iter()
                .flat_map(|p| match &p.rows {
                    HeldRows::Memory(b) => b.clone(),
                    HeldRows::Spilled(_) => Vec::new(),
                })
                .collect();
            return Ok(Arc::new(MemTable::try_new(schema, vec![batches])?));
        }
        let (mut urls, mut dirs) = (Vec::with_capacity(parts.len()), Vec::with_capacity(parts.len()));
        for p in parts {
            let dir = match &p.rows {
                HeldRows::Spilled(dir) => dir.clone(),
                HeldRows::Memory(batches) => {
                    let mut spill = Spill::new(&p.schema)?;
                    for b in batches {
                        spill.write(b)?;
                    }
                    spill.finish()?
                }
            };
            urls.push(ListingTableUrl::parse(format!("{}/", dir.path().display()))?);
            dirs.push(dir);
        }
        let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(schema);
        Ok(Arc::new(HeldTable { inner: ListingTable::try_new(config)?, _dirs: dirs }))
    }
}

impl Held {
    /// These rows without the records at `dropped` (by `evidence_path` and
    /// `evidence_index`, which the rows must have). Rows on disk are copied to a new
    /// temporary file without them.
    pub fn without(&self, dropped: &[crate::duplicates::EvidenceLocation]) -> Result<Held, QueryError> {
        use arrow::array::{Array, AsArray, BooleanArray};
        use arrow::datatypes::{DataType, Int64Type};
        let set: std::collections::HashSet<(&str, i64)> = dropped.iter().map(|d| (d.path.as_str(), d.index)).collect();
        let keep = |b: &RecordBatch| -> Result<RecordBatch, QueryError> {
            let col = |name: &str, to: &DataType| -> Result<arrow::array::ArrayRef, QueryError> {
                let c = b.column_by_name(name).ok_or_else(|| {
                    DataFusionError::Internal(format!("held rows without {name} cannot drop records"))
                })?;
                Ok(arrow::compute::cast(c, to).map_err(DataFusionError::from)?)
            };
            let (paths, index) = (col("evidence_path", &DataType::Utf8)?, col("evidence_index", &DataType::Int64)?);
            let (paths, index) = (paths.as_string::<i32>(), index.as_primitive::<Int64Type>());
            let mask: BooleanArray = (0..b.num_rows())
                .map(|r| Some(paths.is_null(r) || !set.contains(&(paths.value(r), index.value(r)))))
                .collect();
            Ok(arrow::compute::filter_record_batch(b, &mask).map_err(DataFusionError::from)?)
        };
        let (rows, count) = match &self.rows {
            HeldRows::Memory(batches) => {
                let kept: Vec<RecordBatch> = batches.iter().map(keep).collect::<Result<_, _>>()?;
                let count = kept.iter().map(|b| b.num_rows() as u64).sum();
                (HeldRows::Memory(kept), count)
            }
            HeldRows::Spilled(dir) => {
                let io = |e: std::io::Error| QueryError::Spill { reason: e.to_string() };
                let file = File::open(dir.path().join("part-00000.parquet")).map_err(io)?;
                let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .map_err(DataFusionError::from)?
                    .build()
                    .map_err(DataFusionError::from)?;
                let mut spill = Spill::new(&self.schema)?;
                let mut count = 0u64;
                for b in reader {
                    let b = keep(&b.map_err(DataFusionError::from)?)?;
                    count += b.num_rows() as u64;
                    spill.write(&b)?;
                }
                (HeldRows::Spilled(spill.finish()?), count)
            }
        };
        Ok(Held { schema: self.schema.clone(), rows, count })
    }
}

/// The Parquet files of held rows as a table, which keeps their folders while it lives.
#[derive(Debug)]
struct HeldTable {
    inner: ListingTable,
    _dirs: Vec<Arc<tempfile::TempDir>>,
}

#[async_trait::async_trait]
impl TableProvider for HeldTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        self.inner.scan(state, projection, filters, limit).await
    }
}

/// A Parquet file being written in a new temporary folder.
struct Spill {
    dir: tempfile::TempDir,
    writer: ArrowWriter<File>,
}

impl Spill {
    fn new(schema: &SchemaRef) -> Result<Self, QueryError> {
        let io = |e: std::io::Error| QueryError::Spill { reason: e.to_string() };
        let dir = tempfile::Builder::new().prefix("trailsift-held-").tempdir().map_err(io)?;
        let file = File::create(dir.path().join("part-00000.parquet")).map_err(io)?;
        // Fast to write and read back; row groups of one merged batch keep the writer small.
        let props = WriterProperties::builder()
            .set_compression(Compression::LZ4_RAW)
            .set_max_row_group_row_count(Some(MATERIALISED_BATCH_ROWS))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(DataFusionError::from)?;
        Ok(Self { dir, writer })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), QueryError> {
        Ok(self.writer.write(batch).map_err(DataFusionError::from)?)
    }

    /// Closes the file; the folder is removed when the last reference to it is dropped.
    fn finish(self) -> Result<Arc<tempfile::TempDir>, QueryError> {
        self.writer.close().map_err(DataFusionError::from)?;
        Ok(Arc::new(self.dir))
    }
}

impl Engine {
    /// Runs `df` and holds its answer to query again: in memory while its arrays take at
    /// most `budget` bytes, else in a temporary Parquet file (see the module documentation).
    pub async fn hold(&self, df: DataFrame, budget: usize) -> Result<Held, QueryError> {
        self.hold_with(df, budget, &mut |_| Ok(())).await
    }

    /// [`Engine::hold`], showing each batch of the answer to `watch` as it arrives.
    pub async fn hold_with(
        &self,
        df: DataFrame,
        budget: usize,
        watch: &mut (dyn FnMut(&RecordBatch) -> Result<(), QueryError> + Send),
    ) -> Result<Held, QueryError> {
        use futures::StreamExt;
        let schema = df.schema().inner().clone();
        let mut stream = df.execute_stream().await?;
        let mut merger = crate::Merger::new(schema.clone());
        let (mut memory, mut bytes, mut count) = (Vec::new(), 0usize, 0u64);
        let mut spill: Option<Spill> = None;
        let mut keep = |batch: RecordBatch, spill: &mut Option<Spill>| -> Result<(), QueryError> {
            if spill.is_none() {
                bytes += batch.get_array_memory_size();
                memory.push(batch);
                if bytes <= budget {
                    return Ok(());
                }
                // Past the budget: everything so far goes to disk, and the rest after it.
                let mut s = Spill::new(&schema)?;
                for b in memory.drain(..) {
                    s.write(&b)?;
                }
                *spill = Some(s);
                return Ok(());
            }
            spill.as_mut().expect("spilling").write(&batch)
        };
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            watch(&batch)?;
            count += batch.num_rows() as u64;
            if let Some(merged) = merger.push(batch)? {
                keep(merged, &mut spill)?;
            }
        }
        if let Some(merged) = merger.finish()? {
            keep(merged, &mut spill)?;
        }
        let rows = match spill {
            Some(s) => HeldRows::Spilled(s.finish()?),
            None => HeldRows::Memory(memory),
        };
        Ok(Held { schema, rows, count })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;

    use super::{Held, HeldRows};
    use crate::{Engine, EngineOptions};

    /// The rows of `table`, as text, sorted.
    async fn rows_of(engine: &Engine, table: Arc<dyn datafusion::datasource::TableProvider>) -> Vec<String> {
        let ctx = engine.context();
        ctx.deregister_table("t").unwrap();
        ctx.register_table("t", table).unwrap();
        let batches = ctx.sql("SELECT n, s FROM t").await.unwrap().collect().await.unwrap();
        let mut out = Vec::new();
        for b in &batches {
            let n = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            let s = arrow::compute::cast(b.column(1), &DataType::Utf8).unwrap();
            let s = s.as_any().downcast_ref::<StringArray>().unwrap();
            for i in 0..b.num_rows() {
                out.push(format!("{}:{:?}", n.value(i), (!s.is_null(i)).then(|| s.value(i))));
            }
        }
        out.sort();
        out
    }

    #[tokio::test]
    async fn held_rows_read_the_same_from_memory_and_disk() {
        let schema =
            Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false), Field::new("s", DataType::Utf8, true)]));
        // Many small batches, as a scan gives them.
        let batches: Vec<RecordBatch> = (0..300)
            .map(|i| {
                let n = Int64Array::from_iter_values((0..100).map(|j| i * 100 + j));
                let s =
                    StringArray::from_iter((0..100).map(|j| (j % 7 != 0).then(|| format!("v{}", (i * 100 + j) % 13))));
                RecordBatch::try_new(schema.clone(), vec![Arc::new(n), Arc::new(s)]).unwrap()
            })
            .collect();
        let engine = Engine::open(&[], EngineOptions::default()).await.unwrap();
        let source = Arc::new(MemTable::try_new(schema.clone(), vec![batches]).unwrap());
        engine.context().register_table("source", source).unwrap();
        let hold = |budget| {
            let engine = &engine;
            async move {
                let df = engine.sql("SELECT n, s FROM source").await.unwrap();
                engine.hold(df, budget).await.unwrap()
            }
        };
        let memory = hold(usize::MAX).await;
        let disk = hold(0).await;
        assert!(!memory.is_spilled() && disk.is_spilled());
        assert_eq!((memory.count, disk.count), (30_000, 30_000));
        let HeldRows::Memory(merged) = &memory.rows else { unreachable!() };
        assert!(merged.len() <= 4, "30,000 rows in batches of 8,192, not 300 small ones");
        let want = rows_of(&engine, memory.table().unwrap()).await;
        assert_eq!(want.len(), 30_000);
        assert_eq!(rows_of(&engine, disk.table().unwrap()).await, want);
        // Parts in memory and on disk make one table.
        let mixed = rows_of(&engine, Held::table_of(&[disk.clone(), memory.clone()]).unwrap()).await;
        let mut twice: Vec<String> = want.iter().chain(want.iter()).cloned().collect();
        twice.sort();
        assert_eq!(mixed, twice);
        // The folder goes with the last reference to it.
        let HeldRows::Spilled(dir) = &disk.rows else { unreachable!() };
        let path = dir.path().to_path_buf();
        assert!(path.join("part-00000.parquet").is_file());
        engine.context().deregister_table("t").unwrap();
        drop(disk);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn dropped_records_leave_memory_and_disk_alike() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("evidence_path", DataType::Utf8, false),
            Field::new("evidence_index", DataType::Int64, false),
        ]));
        let batches: Vec<RecordBatch> = (0..20)
            .map(|f| {
                let p = StringArray::from_iter_values((0..50).map(|_| format!("file-{f:02}")));
                let i = Int64Array::from_iter_values(0..50);
                RecordBatch::try_new(schema.clone(), vec![Arc::new(p), Arc::new(i)]).unwrap()
            })
            .collect();
        let engine = Engine::open(&[], EngineOptions::default()).await.unwrap();
        let source = Arc::new(MemTable::try_new(schema.clone(), vec![batches]).unwrap());
        engine.context().register_table("source", source).unwrap();
        let loc = |f: u32, i: i64| crate::duplicates::EvidenceLocation { path: format!("file-{f:02}"), index: i };
        // Two records, one location no record has, and one twice.
        let dropped = [loc(3, 7), loc(19, 49), loc(25, 0), loc(3, 7)];
        for budget in [usize::MAX, 0] {
            let df = engine.sql("SELECT * FROM source").await.unwrap();
            let held = engine.hold(df, budget).await.unwrap();
            let kept = held.without(&dropped).unwrap();
            assert_eq!(kept.is_spilled(), budget == 0);
            assert_eq!(kept.count, 998);
            let ctx = engine.context();
            ctx.deregister_table("k").unwrap();
            ctx.register_table("k", kept.table().unwrap()).unwrap();
            let q = "SELECT count(*) AS n FROM k WHERE (evidence_path = 'file-03' AND evidence_index = 7) \
                     OR (evidence_path = 'file-19' AND evidence_index = 49)";
            let gone = ctx.sql(q).await.unwrap().collect().await.unwrap();
            let n = gone[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0);
            assert_eq!(n, 0, "budget {budget}");
            let all = ctx.sql("SELECT count(*) FROM k").await.unwrap().collect().await.unwrap();
            assert_eq!(all[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0), 998);
        }
    }
}
