//! The detection catalog: bundled `.sql` detections (compiled in by `build.rs`) plus a user's
//! own from `--detections DIR`, each parsed from its `-- key: value` header, and the lint that
//! reports every problem of every file at once.

use std::path::{Path, PathBuf};

use crate::DetectError;
use crate::finding::{Level, Status};

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

/// Header keys a detection may use; any other key is a lint error.
pub const HEADER_KEYS: [&str; 12] = [
    "id",
    "title",
    "source",
    "level",
    "status",
    "tags",
    "author",
    "created",
    "modified",
    "references",
    "falsepositives",
    "description",
];

/// Header keys every detection must have.
pub const REQUIRED_KEYS: [&str; 7] = ["id", "title", "source", "level", "status", "tags", "description"];

/// ATT&CK tactics, as tags spell them (`attack.defense-evasion`).
pub const TACTICS: [&str; 14] = [
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
];

/// Log sources detections can read: `cloudtrail` (view `events`) and `vpcflow` (table `vpc_flow`).
pub const SOURCES: [&str; 2] = ["cloudtrail", "vpcflow"];

/// Columns every detection returns, in this order (`last_ts` may follow, for aggregates).
pub const FINDING_COLUMNS: [&str; 11] = [
    "event_ts",
    "evidence_path",
    "evidence_index",
    "eventid",
    "account_id",
    "region",
    "principal",
    "access_key_id",
    "source_ip",
    "summary",
    "count",
];

/// Optional extra column: time of the last event of an aggregate finding.
pub const LAST_TS_COLUMN: &str = "last_ts";

/// One detection: metadata from its header, and its SQL.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Detection {
    /// Stable identifier, e.g. `ct-defense-evasion-0001` (the file name without `.sql`).
    pub id: String,
    /// One-line title.
    pub title: String,
    /// How serious a hit is.
    pub level: Level,
    /// stable, experimental or deprecated (deprecated runs only when asked).
    pub status: Status,
    /// Log source: `cloudtrail` or `vpcflow`.
    pub source: String,
    /// Tags: `attack.<tactic>`, `attack.tNNNN[.NNN]`, others.
    pub tags: Vec<String>,
    /// Author.
    pub author: String,
    /// Creation date (YYYY-MM-DD).
    pub created: String,
    /// Last change (YYYY-MM-DD), when given.
    pub modified: String,
    /// What it detects and why it matters.
    pub description: String,
    /// Benign activity that can fire it (`;`-separated in the header).
    pub falsepositives: Vec<String>,
    /// References (comma-separated URLs in the header).
    pub references: Vec<String>,
    /// The query (after the header).
    pub sql: String,
    /// `bundled` or the file path it was loaded from.
    pub origin: String,
    /// Path under `detections/` (bundled) or the file path (user detections).
    pub path: String,
}

impl Detection {
    /// The first ATT&CK tactic among the tags (`defense-evasion`), or `""`.
    pub fn tactic(&self) -> &str {
        self.tags.iter().filter_map(|t| t.strip_prefix("attack.")).find(|t| TACTICS.contains(t)).unwrap_or("")
    }

    /// The ATT&CK technique IDs among the tags (`T1562.008`).
    pub fn techniques(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter_map(|t| t.strip_prefix("attack."))
            .filter(|t| is_technique(t))
            .map(|t| t.to_ascii_uppercase())
            .collect()
    }
}

/// A problem with one detection file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LintProblem {
    /// The file (`bundled:cloudtrail/…/x.sql` or a path).
    pub file: String,
    /// 1-based line, when the problem is on one line.
    pub line: Option<usize>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for LintProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// The detections a hunt can run, and the files that were rejected.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    detections: Vec<Detection>,
    problems: Vec<LintProblem>,
    rejected: Vec<String>,
}

impl Catalog {
    /// The detections compiled into the binary.
    pub fn bundled() -> Catalog {
        let mut c = Catalog::default();
        for (rel, text) in bundled::BUNDLED {
            c.add(text, "bundled", rel, &format!("bundled:{rel}"), Some(rel));
        }
        c
    }

    /// An empty catalog (for user detections only).
    pub fn empty() -> Catalog {
        Catalog::default()
    }

    /// Adds every `*.sql` file under `dir` (recursively, sorted). A file with a problem is not
    /// added; its problems are kept (see [`Catalog::lint`], [`Catalog::rejected`]). Fails only
    /// when `dir` cannot be read.
    pub fn with_dir(mut self, dir: &Path) -> Result<Catalog, DetectError> {
        let mut files = Vec::new();
        collect_sql(dir, &mut files)?;
        files.sort();
        for f in files {
            let shown = f.display().to_string();
            match std::fs::read_to_string(&f) {
                Ok(text) => self.add(&text, &shown, &shown, &shown, None),
                Err(e) => {
                    self.problems.push(LintProblem {
                        file: shown.clone(),
                        line: None,
                        message: format!("cannot read: {e}"),
                    });
                    self.rejected.push(shown);
                }
            }
        }
        Ok(self)
    }

    /// Every detection that passed the lint, in load order (bundled first, sorted by path).
    pub fn detections(&self) -> &[Detection] {
        &self.detections
    }

    /// The detection with this id.
    pub fn get(&self, id: &str) -> Option<&Detection> {
        self.detections.iter().find(|d| d.id == id)
    }

    /// Every problem found while loading: header keys, values, id/file name, SQL syntax.
    /// A file with any problem is rejected (not run).
    pub fn lint(&self) -> Vec<LintProblem> {
        self.problems.clone()
    }

    /// Files rejected because of problems (as named in [`LintProblem::file`]).
    pub fn rejected(&self) -> &[String] {
        &self.rejected
    }

    /// Plans every cloudtrail detection against empty `events`/`cloudtrail` tables with the
    /// real schema and trailsift's functions, and checks its output columns. Catches unknown
    /// columns, functions and type errors that the syntax check cannot.
    pub async fn check_plans(&self) -> Vec<LintProblem> {
        let ctx = crate::runner::empty_context();
        let mut out = Vec::new();
        for d in &self.detections {
            if d.source != "cloudtrail" {
                continue;
            }
            let file = if d.origin == "bundled" { format!("bundled:{}", d.path) } else { d.origin.clone() };
            match trailsift_query::plan_trino(&ctx, &d.sql).await {
                Ok(df) => {
                    let names: Vec<String> = df.schema().fields().iter().map(|f| f.name().clone()).collect();
                    if let Err(m) = crate::runner::check_columns(&names) {
                        out.push(LintProblem { file, line: None, message: m });
                    }
                }
                Err(e) => out.push(LintProblem { file, line: None, message: format!("SQL does not plan: {e}") }),
            }
        }
        out
    }

    fn add(&mut self, text: &str, origin: &str, path: &str, shown: &str, rel: Option<&str>) {
        let (det, mut problems) = parse(text, origin, path, shown);
        if let (Some(d), Some(rel)) = (&det, rel) {
            let parts: Vec<&str> = rel.split('/').collect();
            if parts.len() != 3 {
                problems.push(problem(shown, None, "bundled detections live at <source>/<tactic>/<id>.sql"));
            } else {
                if parts[0] != d.source {
                    problems.push(problem(
                        shown,
                        None,
                        &format!("file is under {}/ but its source is {}", parts[0], d.source),
                    ));
                }
                if !d.tags.iter().any(|t| t.strip_prefix("attack.") == Some(parts[1])) {
                    problems.push(problem(
                        shown,
                        None,
                        &format!("file is under tactic folder {}/ but has no tag attack.{}", parts[1], parts[1]),
                    ));
                }
            }
        }
        if let Some(d) = &det
            && self.detections.iter().any(|o| o.id == d.id)
        {
            problems.push(problem(shown, None, &format!("id {} is already used by another detection", d.id)));
        }
        match det {
            Some(d) if problems.is_empty() => self.detections.push(d),
            _ => {
                self.problems.extend(problems);
                self.rejected.push(shown.to_string());
            }
        }
    }
}

fn collect_sql(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DetectError> {
    let rd = std::fs::read_dir(dir).map_err(|e| DetectError::Io { path: dir.display().to_string(), source: e })?;
    for entry in rd {
        let entry = entry.map_err(|e| DetectError::Io { path: dir.display().to_string(), source: e })?;
        let p = entry.path();
        if p.is_dir() {
            collect_sql(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "sql") {
            out.push(p);
        }
    }
    Ok(())
}

fn problem(file: &str, line: Option<usize>, msg: &str) -> LintProblem {
    LintProblem { file: file.to_string(), line, message: msg.to_string() }
}

fn is_technique(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    (b.len() == 5 || (b.len() == 9 && b[5] == b'.' && digits(&b[6..])))
        && (b[0] == b't' || b[0] == b'T')
        && digits(&b[1..5])
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn split_list(v: &str, sep: char) -> Vec<String> {
    v.split(sep).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// Parses one detection file. Returns the detection when its header has what a run needs,
/// and every problem found (a detection with problems is rejected by the catalog).
pub fn parse(text: &str, origin: &str, path: &str, shown: &str) -> (Option<Detection>, Vec<LintProblem>) {
    let mut problems = Vec::new();
    let mut fields: Vec<(String, String, usize)> = Vec::new();
    let mut sql_start = text.len();
    let mut offset = 0;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches(['\n', '\r']);
        let t = line.trim();
        if t.is_empty() {
            offset += raw.len();
            continue;
        }
        let Some(body) = t.strip_prefix("--") else {
            sql_start = offset;
            break;
        };
        offset += raw.len();
        // A continuation line: `--` then two or more spaces, appended to the previous value.
        if body.starts_with("  ") && !fields.is_empty() {
            let last = fields.last_mut().expect("non-empty");
            last.1.push(' ');
            last.1.push_str(body.trim());
            continue;
        }
        let body = body.trim();
        if body.is_empty() {
            continue;
        }
        let Some((k, v)) = body.split_once(':') else {
            problems.push(problem(shown, Some(line_no), &format!("header line is not `-- key: value`: {body}")));
            continue;
        };
        let key = k.trim().to_ascii_lowercase();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            problems.push(problem(shown, Some(line_no), &format!("header line is not `-- key: value`: {body}")));
            continue;
        }
        if !HEADER_KEYS.contains(&key.as_str()) {
            problems.push(problem(
                shown,
                Some(line_no),
                &format!("unknown header key '{key}' (known keys: {})", HEADER_KEYS.join(", ")),
            ));
            continue;
        }
        if fields.iter().any(|(k2, _, _)| *k2 == key) {
            problems.push(problem(shown, Some(line_no), &format!("header key '{key}' appears twice")));
            continue;
        }
        fields.push((key, v.trim().to_string(), line_no));
    }
    let sql = text[sql_start..].trim().to_string();
    let get = |k: &str| fields.iter().find(|(key, _, _)| key == k).map(|(_, v, l)| (v.as_str(), *l));
    for k in REQUIRED_KEYS {
        match get(k) {
            None => problems.push(problem(shown, None, &format!("missing header key '{k}'"))),
            Some(("", l)) => problems.push(problem(shown, Some(l), &format!("header key '{k}' is empty"))),
            _ => {}
        }
    }
    let id = get("id").map(|(v, _)| v.to_string()).unwrap_or_default();
    if let Some((v, l)) = get("id") {
        if !v.is_empty() && !v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
            problems.push(problem(shown, Some(l), &format!("id '{v}' may hold only a-z, 0-9, '-' and '_'")));
        }
        let stem = Path::new(path).file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        if !v.is_empty() && stem != v {
            problems.push(problem(shown, Some(l), &format!("id '{v}' differs from the file name '{stem}.sql'")));
        }
    }
    let level = match get("level") {
        Some((v, l)) if !v.is_empty() => match v.parse::<Level>() {
            Ok(x) => Some(x),
            Err(e) => {
                problems.push(problem(shown, Some(l), &e));
                None
            }
        },
        _ => None,
    };
    let status = match get("status") {
        Some((v, l)) if !v.is_empty() => match v.parse::<Status>() {
            Ok(x) => Some(x),
            Err(e) => {
                problems.push(problem(shown, Some(l), &e));
                None
            }
        },
        _ => None,
    };
    let source = get("source").map(|(v, _)| v.to_string()).unwrap_or_default();
    if let Some((v, l)) = get("source")
        && !v.is_empty()
        && !SOURCES.contains(&v)
    {
        problems.push(problem(shown, Some(l), &format!("unknown source '{v}' (use cloudtrail or vpcflow)")));
    }
    let tags = get("tags").map(|(v, _)| split_list(v, ',')).unwrap_or_default();
    if let Some((_, l)) = get("tags") {
        let mut tactic = false;
        for t in &tags {
            if t != &t.to_ascii_lowercase() {
                problems.push(problem(shown, Some(l), &format!("tag '{t}' must be lowercase")));
            }
            match t.strip_prefix("attack.") {
                Some(rest) if TACTICS.contains(&rest) => tactic = true,
                Some(rest) if is_technique(rest) => {}
                Some(rest) => problems.push(problem(
                    shown,
                    Some(l),
                    &format!("tag 'attack.{rest}' is neither an ATT&CK tactic nor a technique (attack.tNNNN[.NNN])"),
                )),
                None if t.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) => {}
                None => {
                    problems.push(problem(shown, Some(l), &format!("tag '{t}' has characters other than a-z0-9-_.")))
                }
            }
        }
        if !tags.is_empty() && !tactic {
            problems.push(problem(shown, Some(l), "tags name no ATT&CK tactic (add e.g. attack.persistence)"));
        }
    }
    for k in ["created", "modified"] {
        if let Some((v, l)) = get(k)
            && !is_date(v)
        {
            problems.push(problem(shown, Some(l), &format!("{k} '{v}' is not a date YYYY-MM-DD")));
        }
    }
    if sql.is_empty() {
        problems.push(problem(shown, None, "no SQL after the header"));
    } else {
        let table = if source == "vpcflow" { "vpc_flow" } else { "events" };
        if !sql.to_ascii_lowercase().contains(table) {
            problems.push(problem(shown, None, &format!("the SQL does not read the {table} table")));
        }
        let compat = trailsift_query::trino_compat(&sql);
        match datafusion::sql::parser::DFParser::parse_sql(&compat) {
            Ok(stmts) if stmts.len() == 1 => {}
            Ok(stmts) => {
                problems.push(problem(shown, None, &format!("expected one SQL statement, found {}", stmts.len())))
            }
            Err(e) => problems.push(problem(shown, None, &format!("SQL syntax error: {e}"))),
        }
    }
    let det = match (level, status) {
        (Some(level), Some(status)) if !id.is_empty() && !sql.is_empty() && !source.is_empty() => Some(Detection {
            id,
            title: get("title").map(|(v, _)| v.to_string()).unwrap_or_default(),
            level,
            status,
            source,
            tags,
            author: get("author").map(|(v, _)| v.to_string()).unwrap_or_default(),
            created: get("created").map(|(v, _)| v.to_string()).unwrap_or_default(),
            modified: get("modified").map(|(v, _)| v.to_string()).unwrap_or_default(),
            description: get("description").map(|(v, _)| v.to_string()).unwrap_or_default(),
            falsepositives: get("falsepositives").map(|(v, _)| split_list(v, ';')).unwrap_or_default(),
            references: get("references").map(|(v, _)| split_list(v, ',')).unwrap_or_default(),
            sql,
            origin: origin.to_string(),
            path: path.to_string(),
        }),
        _ => None,
    };
    (det, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "-- id: x-1\n-- title: T\n-- source: cloudtrail\n-- level: high\n-- status: stable\n\
        -- tags: attack.persistence, attack.t1098.001\n-- created: 2025-01-01\n-- description: d\n--   more\n\
        -- falsepositives: a, b; c\nSELECT 1 FROM events\n";

    #[test]
    fn parses_a_good_header() {
        let (d, p) = parse(GOOD, "bundled", "cloudtrail/persistence/x-1.sql", "f");
        assert!(p.is_empty(), "{p:?}");
        let d = d.unwrap();
        assert_eq!(d.level, Level::High);
        assert_eq!(d.description, "d more");
        assert_eq!(d.falsepositives, vec!["a, b", "c"]);
        assert_eq!(d.tactic(), "persistence");
        assert_eq!(d.techniques(), vec!["T1098.001"]);
        assert_eq!(d.sql, "SELECT 1 FROM events");
    }

    #[test]
    fn reports_every_problem_at_once() {
        let bad = "-- id: Bad Id\n-- title: T\n-- level: severe\n-- status: stable\n-- colour: red\n\
            -- tags: attack.nothing\n-- created: yesterday\nSELEC 1 FROM events\n";
        let (d, p) = parse(bad, "x.sql", "x.sql", "x.sql");
        assert!(d.is_none());
        let all: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        let text = all.join("\n");
        for needle in [
            "unknown header key 'colour'",
            "missing header key 'source'",
            "missing header key 'description'",
            "unknown level 'severe'",
            "may hold only",
            "differs from the file name",
            "neither an ATT&CK tactic",
            "not a date",
            "SQL syntax error",
        ] {
            assert!(text.contains(needle), "missing '{needle}' in:\n{text}");
        }
    }

    #[test]
    fn bundled_catalog_has_no_problems() {
        let c = Catalog::bundled();
        assert!(c.lint().is_empty(), "{:#?}", c.lint());
        assert!(c.detections().len() >= 45, "only {} detections", c.detections().len());
    }
}
