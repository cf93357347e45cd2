//! Nested projection for the evidence scan: which fields of a struct column a query reads.
//!
//! DataFusion gives a [`TableProvider`](datafusion::datasource::TableProvider) only the
//! top-level columns a plan needs, so `SELECT useridentity.accesskeyid …` would make the
//! scan copy all of `useridentity` (twenty-odd strings) out of every record. [`StructLeaves`]
//! is an optimizer rule, run after DataFusion's own, that looks at the whole plan and, when
//! every use of a struct column is a chain of `get_field` with literal names, tells the
//! evidence table to build only those fields ([`Leaves`]); the others are null, and no
//! expression of the plan reads them.
//!
//! The analysis is conservative and by column name, whatever table or alias a column comes
//! from: a struct column is built whole when any expression reads it other than through such
//! a chain, when it reaches the plan's output, when it flows into a node whose handling of
//! columns is not understood here (a union, `DISTINCT`, an extension, …), or when the plan
//! still holds a subquery.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::datasource::{DefaultTableSource, provider_as_source};
use datafusion::error::Result;
use datafusion::functions::core::getfield::GetFieldFunc;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use trailsift_ingest::schema::{Kind, Leaves, RECORD_FIELDS};

use crate::evidence::EvidenceTable;

/// The optimizer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct StructLeaves;

/// What the plan reads of each struct column, by column name.
#[derive(Debug, Default)]
struct Uses(HashMap<String, Leaves>);

impl Uses {
    fn whole(&mut self, name: &str) {
        if is_struct_column(name) {
            self.0.insert(name.to_string(), Leaves::All);
        }
    }

    fn path(&mut self, name: &str, path: &[String]) {
        if is_struct_column(name) {
            self.0.entry(name.to_string()).or_insert_with(|| Leaves::Some(Vec::new())).add(path);
        }
    }

    /// Records the uses in `e`: `get_field` chains on a column, and bare columns.
    fn expr(&mut self, e: &Expr) -> Result<()> {
        e.apply(|x| {
            if let Some((column, path)) = field_chain(x) {
                self.path(&column, &path);
                return Ok(TreeNodeRecursion::Jump);
            }
            match x {
                Expr::Column(c) => self.whole(&c.name),
                Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_) => self.all(),
                _ => {}
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        Ok(())
    }

    fn all(&mut self) {
        for f in RECORD_FIELDS {
            self.whole(f.name);
        }
    }

    /// Struct columns of `plan`'s output are read whole (by its parent, or by the user).
    fn schema_of(&mut self, plan: &LogicalPlan) {
        for f in plan.schema().fields() {
            self.whole(f.name());
        }
    }
}

fn is_struct_column(name: &str) -> bool {
    RECORD_FIELDS.iter().any(|f| f.name == name && matches!(f.kind, Kind::Struct(_)))
}

/// `get_field(get_field(col, 'a'), 'b')` or `get_field(col, 'a', 'b')`: the column's name and
/// the field names, when every name is a string literal.
fn field_chain(e: &Expr) -> Option<(String, Vec<String>)> {
    let Expr::ScalarFunction(f) = e else {
        return None;
    };
    f.func.inner().downcast_ref::<GetFieldFunc>()?;
    let (base, names) = f.args.split_first()?;
    let mut names_out = Vec::with_capacity(names.len());
    for n in names {
        match n {
            Expr::Literal(
                ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)),
                _,
            ) => names_out.push(s.clone()),
            _ => return None,
        }
    }
    if names_out.is_empty() {
        return None;
    }
    match base {
        Expr::Column(c) => Some((c.name.clone(), names_out)),
        inner => {
            let (c, mut path) = field_chain(inner)?;
            path.extend(names_out);
            Some((c, path))
        }
    }
}

/// Whether `plan` only passes its inputs' columns through to its own output (where its
/// parent's use of them is looked at) or reads them through its expressions.
fn columns_flow_understood(plan: &LogicalPlan) -> bool {
    matches!(
        plan,
        LogicalPlan::Projection(_)
            | LogicalPlan::Filter(_)
            | LogicalPlan::Aggregate(_)
            | LogicalPlan::Sort(_)
            | LogicalPlan::Limit(_)
            | LogicalPlan::SubqueryAlias(_)
            | LogicalPlan::Join(_)
            | LogicalPlan::Window(_)
            | LogicalPlan::Repartition(_)
            | LogicalPlan::TableScan(_)
            | LogicalPlan::EmptyRelation(_)
    )
}

/// What `plan` reads of each struct column.
fn uses(plan: &LogicalPlan) -> Result<Uses> {
    let mut uses = Uses::default();
    uses.schema_of(plan);
    plan.apply_with_subqueries(|node| {
        if matches!(node, LogicalPlan::Subquery(_)) {
            uses.all();
        }
        if !columns_flow_understood(node) {
            for input in node.inputs() {
                uses.schema_of(input);
            }
        }
        node.apply_expressions(|e| {
            uses.expr(e)?;
            Ok(TreeNodeRecursion::Continue)
        })?;
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(uses)
}

impl OptimizerRule for StructLeaves {
    fn name(&self) -> &str {
        "trailsift_struct_leaves"
    }

    fn rewrite(&self, plan: LogicalPlan, _config: &dyn OptimizerConfig) -> Result<Transformed<LogicalPlan>> {
        let mut has_evidence = false;
        plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(scan) = node
                && evidence_table(&scan.source).is_some()
            {
                has_evidence = true;
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        if !has_evidence {
            return Ok(Transformed::no(plan));
        }
        let uses = uses(&plan)?;
        let leaves: Vec<(usize, Leaves)> = RECORD_FIELDS
            .iter()
            .enumerate()
            .filter(|(_, f)| matches!(f.kind, Kind::Struct(_)))
            .filter_map(|(i, f)| match uses.0.get(f.name) {
                Some(Leaves::All) => None,
                Some(l) => Some((i, l.clone())),
                // Not read at all (the scan does not build it then, unless `extra` is asked).
                None => Some((i, Leaves::Some(Vec::new()))),
            })
            .collect();
        plan.transform_up_with_subqueries(|node| {
            let LogicalPlan::TableScan(mut scan) = node else {
                return Ok(Transformed::no(node));
            };
            match evidence_table(&scan.source) {
                Some(table) if table.leaves() != leaves.as_slice() => {
                    scan.source = provider_as_source(Arc::new(table.with_leaves(leaves.clone())));
                    Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
                }
                _ => Ok(Transformed::no(LogicalPlan::TableScan(scan))),
            }
        })
    }
}

fn evidence_table(source: &Arc<dyn datafusion::logical_expr::TableSource>) -> Option<&EvidenceTable> {
    let source = (source.as_ref() as &dyn Any).downcast_ref::<DefaultTableSource>()?;
    (source.table_provider.as_ref() as &dyn Any).downcast_ref::<EvidenceTable>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    /// The leaves the rule settles on for `sql` over an evidence table with no files.
    async fn leaves_for(sql: &str) -> Vec<(usize, Leaves)> {
        let ctx = SessionContext::new();
        ctx.add_optimizer_rule(Arc::new(StructLeaves));
        let table = EvidenceTable::new(Vec::new(), Default::default(), Default::default());
        ctx.register_table("cloudtrail", Arc::new(table)).unwrap();
        let plan = ctx.sql(sql).await.unwrap().into_optimized_plan().unwrap();
        let mut found = None;
        plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(scan) = node
                && let Some(t) = evidence_table(&scan.source)
            {
                found = Some(t.leaves().to_vec());
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .unwrap();
        found.expect("a scan of the evidence table")
    }

    fn of(leaves: &[(usize, Leaves)], column: &str) -> Leaves {
        let i = RECORD_FIELDS.iter().position(|f| f.name == column).unwrap();
        leaves.iter().find(|(c, _)| *c == i).map_or(Leaves::All, |(_, l)| l.clone())
    }

    fn only(paths: &[&[&str]]) -> Leaves {
        let mut l = Leaves::Some(Vec::new());
        for p in paths {
            l.add(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        }
        l
    }

    #[tokio::test]
    async fn field_chains_name_the_leaves() {
        let l = leaves_for(
            "SELECT useridentity.accesskeyid, count(*) FROM cloudtrail \
             WHERE useridentity.sessioncontext.sessionissuer.arn LIKE 'arn:%' GROUP BY 1",
        )
        .await;
        assert_eq!(of(&l, "useridentity"), only(&[&["accesskeyid"], &["sessioncontext", "sessionissuer", "arn"]]));
        assert_eq!(of(&l, "tlsdetails"), only(&[]));
        // DataFusion folds the alias into the field access.
        let l = leaves_for("SELECT u.arn FROM (SELECT useridentity AS u FROM cloudtrail) t").await;
        assert_eq!(of(&l, "useridentity"), only(&[&["arn"]]));
        // … and pushes it below a union.
        let l = leaves_for(
            "SELECT useridentity.arn FROM (SELECT useridentity FROM cloudtrail \
             UNION ALL SELECT useridentity FROM cloudtrail) x",
        )
        .await;
        assert_eq!(of(&l, "useridentity"), only(&[&["arn"]]));
    }

    #[tokio::test]
    async fn whole_uses_build_everything() {
        for sql in [
            "SELECT useridentity FROM cloudtrail",
            "SELECT * FROM cloudtrail",
            "SELECT count(*) FROM cloudtrail WHERE useridentity IS NULL",
            "SELECT DISTINCT useridentity.arn, useridentity FROM cloudtrail",
            "SELECT count(*) FROM (SELECT DISTINCT useridentity FROM cloudtrail) x",
            "SELECT * FROM (SELECT useridentity FROM cloudtrail UNION ALL SELECT useridentity FROM cloudtrail) x",
        ] {
            let l = leaves_for(sql).await;
            assert_eq!(of(&l, "useridentity"), Leaves::All, "{sql}");
        }
    }
}
