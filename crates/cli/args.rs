//! Command-line arguments (clap). Only this module knows clap; [`Common`] is turned into
//! library options in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Examples:
  trailsift ingest evidence/ --out store/
  trailsift query evidence/ --sql \"SELECT eventname, count(*) FROM cloudtrail GROUP BY 1 ORDER BY 2 DESC\"
  trailsift query store/ --format jsonl --sql \"SELECT * FROM cloudtrail WHERE useridentity.accesskeyid = 'AKIA…'\"
  trailsift shell evidence/
  trailsift key evidence/ AKIAIOSFODNN7EXAMPLE -o report.html
  trailsift schema --ddl athena s3://bucket/trailsift-store
  trailsift gen --out corpus/ --size 1GiB --plant exposed-key

Exit codes: 0 clean; 2 finished, but some evidence could not be read (named on stderr); 1 failed.";

/// Offline forensics for AWS CloudTrail exports.
#[derive(Debug, Parser)]
#[command(name = "trailsift", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read evidence into a Parquet store (with a manifest of every file and its SHA-256).
    Ingest(IngestArgs),
    /// Run SQL over raw evidence or a store.
    Query(QueryArgs),
    /// Interactive SQL prompt over raw evidence or a store.
    Shell(ShellArgs),
    /// Print the tables and their columns (or Athena DDL for a store).
    Schema(SchemaArgs),
    /// Investigate an exposed access key: lineage, scope, impact, findings, containment.
    Key(KeyArgs),
    /// Generate a synthetic CloudTrail archive with known answers.
    Gen(GenArgs),
    /// Validate CloudTrail digest chains and log files offline (signatures, hashes, gaps).
    Verify(crate::verify::VerifyArgs),
    /// Chain-of-custody summary of a store (files, bytes, evidence SHA-256, verification).
    Manifest(crate::verify::ManifestArgs),
    /// Run the detection pack (everything, or the lineage of --key) and print findings.
    Hunt(crate::hunt::HuntArgs),
    /// List, show or lint detections.
    Detections(crate::detections::DetectionsArgs),
}

/// Options shared by commands that read evidence.
#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0, help_heading = "General")]
    pub threads: usize,
    /// Hide progress bars and status lines.
    #[arg(short, long, help_heading = "General")]
    pub quiet: bool,
    /// Stop at the first unreadable file or record instead of reporting it and going on.
    #[arg(long, help_heading = "Input")]
    pub strict: bool,
    /// Follow symlinks inside evidence directories (loops are detected).
    #[arg(long, help_heading = "Input")]
    pub follow_symlinks: bool,
    /// Largest expanded size of one evidence file, in bytes (guards against gzip bombs).
    #[arg(long, default_value_t = trailsift_ingest::decode::DEFAULT_MAX_FILE_BYTES, help_heading = "Input")]
    pub max_file_size: u64,
    /// Field layout of VPC flow-log files that have no header line (CloudWatch Logs exports),
    /// as in AWS's format string: "${version} ${account-id} ${interface-id} …" (plain
    /// space-separated names work too). Default: the version-2 layout.
    #[arg(long, value_name = "FORMAT", value_parser = parse_vpc_format, help_heading = "Input")]
    pub vpc_format: Option<trailsift_ingest::vpc::VpcFormat>,
}

fn parse_vpc_format(s: &str) -> Result<trailsift_ingest::vpc::VpcFormat, String> {
    trailsift_ingest::vpc::VpcFormat::parse(s)
}

/// `trailsift ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Evidence files or directories (an S3 export tree, loose files, any mix).
    #[arg(required = true, help_heading = "Input")]
    pub evidence: Vec<PathBuf>,
    /// Store directory to create (never inside the evidence).
    #[arg(short, long, help_heading = "Output")]
    pub out: PathBuf,
    /// Replace an existing trailsift store at --out.
    #[arg(short = 'C', long, help_heading = "Output")]
    pub clobber: bool,
    /// Digest verification recorded per file (see `trailsift verify`).
    #[command(flatten)]
    pub integrity: crate::verify::IntegrityArgs,
    /// Shared options.
    #[command(flatten)]
    pub common: Common,
}

/// Output formats of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned table (default on a terminal).
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line (default when stdout is not a terminal).
    Jsonl,
    /// Parquet (needs -o).
    Parquet,
}

/// `trailsift query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Evidence files/directories, or stores made by `trailsift ingest`.
    #[arg(required = true, help_heading = "Input")]
    pub paths: Vec<PathBuf>,
    /// SQL to run (tables: cloudtrail).
    #[arg(long, conflicts_with = "file", required_unless_present = "file", help_heading = "Input")]
    pub sql: Option<String>,
    /// File holding the SQL to run.
    #[arg(short = 'f', long = "file", help_heading = "Input")]
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, help_heading = "Output")]
    pub format: Option<Format>,
    /// Write results to this file instead of stdout.
    #[arg(short, long, help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(short = 'C', long, help_heading = "Output")]
    pub clobber: bool,
    /// Digest verification for the `evidence_verification` column (raw evidence only).
    #[command(flatten)]
    pub integrity: crate::verify::IntegrityArgs,
    /// Shared options.
    #[command(flatten)]
    pub common: Common,
}

/// Formats of the `key` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFmt {
    /// Markdown (default).
    Md,
    /// JSON (the documented investigation model).
    Json,
    /// One self-contained HTML file with an SVG activity timeline.
    Html,
}

/// `trailsift key`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Evidence files/directories or stores, and the access key ID to investigate (AKIA… or ASIA…).
    #[arg(required = true, num_args = 2.., value_name = "PATH… KEY", help_heading = "Input")]
    pub items: Vec<String>,
    /// Report format (default: from the -o extension, else md).
    #[arg(long, value_enum, help_heading = "Output")]
    pub format: Option<ReportFmt>,
    /// Write the report to this file instead of stdout.
    #[arg(short, long, help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(short = 'C', long, help_heading = "Output")]
    pub clobber: bool,
    /// Shared options.
    #[command(flatten)]
    pub common: Common,
}

/// `trailsift shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// Evidence files/directories, or stores made by `trailsift ingest`.
    #[arg(required = true, help_heading = "Input")]
    pub paths: Vec<PathBuf>,
    /// History file (default: ~/.trailsift_history).
    #[arg(long, help_heading = "General")]
    pub history: Option<PathBuf>,
    /// Shared options.
    #[command(flatten)]
    pub common: Common,
}

/// DDL dialects `schema --ddl` can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Ddl {
    /// Athena / Trino / Hive `CREATE EXTERNAL TABLE` over the store's Parquet files.
    Athena,
}

/// `trailsift schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print DDL that reads a store copied to object storage instead of the column list.
    #[arg(long, value_enum, requires = "location")]
    pub ddl: Option<Ddl>,
    /// Where the store's `cloudtrail/` folder will live, e.g. s3://bucket/trailsift-store.
    pub location: Option<String>,
}

/// `trailsift gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Directory to write the archive into (must not exist or be empty).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Uncompressed CloudTrail JSON to write, e.g. 100MB, 1GiB, 10GiB (instead of --records).
    #[arg(long, value_parser = crate::gen_cmd::parse_size, conflicts_with = "records")]
    pub size: Option<u64>,
    /// Noise records to write (default 20000; planted records come on top).
    #[arg(long)]
    pub records: Option<u64>,
    /// Accounts.
    #[arg(long, default_value_t = 1)]
    pub accounts: usize,
    /// Regions the noise uses (comma-separated; the first is the busiest).
    #[arg(long, value_delimiter = ',', default_value = "us-east-1,eu-west-1")]
    pub regions: Vec<String>,
    /// Time span in days (288 five-minute files per account and region a day; default: about
    /// 200 records per file).
    #[arg(long, conflicts_with = "files_per_region")]
    pub days: Option<f64>,
    /// Time span in five-minute slots per account and region (instead of --days).
    #[arg(long)]
    pub files_per_region: Option<u64>,
    /// First day (YYYY-MM-DD).
    #[arg(long, default_value = "2024-07-31")]
    pub start: Option<String>,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Plant an incident with exactly known answers (repeatable): exposed-key.
    #[arg(long, value_parser = |s: &str| s.parse::<trailsift_gen::Scenario>())]
    pub plant: Vec<trailsift_gen::Scenario>,
    /// Skip the VPC flow logs (written by default).
    #[arg(long)]
    pub no_vpc: bool,
    /// Gzip level (AWS's files compress about like 6).
    #[arg(long, default_value_t = 6)]
    pub gzip_level: u32,
    /// Worker threads (default: one per core; the output does not depend on it).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}
