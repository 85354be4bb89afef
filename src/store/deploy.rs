//! Deployment: every change of what is live is one transaction that moves the statuses
//! and writes the deployment row that says why. The schema holds at most one production
//! and one canary version per model, so no crash or race can leave two.

use super::db::{Begin, Db, params};

use super::Store;
use crate::config::Regime;
use crate::failpoint;
use crate::kinds::{DeploymentAction, VersionStatus};

/// What a deployment row records besides the versions.
#[derive(Debug, Clone)]
pub struct Change {
    pub symbol: String,
    pub regime: Regime,
    pub reason: String,
    /// The gates as checked, for promotions and canary starts.
    pub gates: Option<serde_json::Value>,
    pub forced: bool,
    /// Who: the user name, or `run`.
    pub actor: String,
    pub at: i64,
}

/// A stored deployment row, with version numbers instead of ids.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentRow {
    pub id: i64,
    pub symbol: String,
    pub regime: Regime,
    pub action: DeploymentAction,
    pub from_version: Option<i64>,
    pub to_version: Option<i64>,
    pub canary_version: Option<i64>,
    pub reason: String,
    /// The gates as checked, for promotions and canary starts.
    pub gates: Option<serde_json::Value>,
    pub forced: bool,
    pub actor: String,
    pub created_at: i64,
}

/// A running (or ended) canary test.
#[derive(Debug, Clone, PartialEq)]
pub struct AbTest {
    pub id: i64,
    pub symbol: String,
    pub regime: Regime,
    pub champion_id: i64,
    pub challenger_id: i64,
    pub traffic_split: f64,
    pub started_at: i64,
}

/// How a canary test ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanaryEnd {
    /// The challenger becomes production, the champion is archived.
    Promoted,
    /// The challenger is archived, the champion stays.
    Kept,
}

impl Store {
    /// Time of the last deployment row of (symbol, regime).
    pub fn last_deployment_at(&self, symbol: &str, regime: Regime) -> anyhow::Result<Option<i64>> {
        Ok(self.query_row(
            "SELECT MAX(created_at) FROM deployments WHERE symbol = ?1 AND regime = ?2",
            params![symbol, regime],
            |r| r.get(0),
        )?)
    }

    /// Make `target` production; the current production version (which must still be
    /// `expected_from`, or the change is refused as a race) is archived.
    pub fn promote(
        &mut self,
        target: i64,
        expected_from: Option<i64>,
        change: &Change,
    ) -> anyhow::Result<i64> {
        let fence = self.fence.clone();
        let tx = self.transaction(Begin::Immediate)?;
        super::check_fence(&tx, &fence)?;
        let from = checked_production(&tx, change, expected_from)?;
        no_running_test(&tx, change)?;
        let id = switch(
            &tx,
            change,
            DeploymentAction::Promote,
            from,
            target,
            &[VersionStatus::Candidate, VersionStatus::Archived],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Make an earlier production version production again. A running canary test is
    /// aborted in the same transaction: its challenger is archived.
    pub fn rollback(
        &mut self,
        target: i64,
        expected_from: Option<i64>,
        change: &Change,
    ) -> anyhow::Result<i64> {
        let tx = self.transaction(Begin::Immediate)?;
        let from = checked_production(&tx, change, expected_from)?;
        if let Some(test) = running_test(&tx, &change.symbol, change.regime)? {
            set_status(&tx, test.challenger_id, &[VersionStatus::Canary], VersionStatus::Archived)?;
            tx.execute(
                "UPDATE ab_tests SET ended_at = ?1, outcome = 'aborted', result = ?2 WHERE id = ?3",
                params![change.at, "aborted by a rollback", test.id],
            )?;
            let aborted =
                Change { reason: format!("aborted by a rollback: {}", change.reason), ..change.clone() };
            insert_row(
                &tx,
                &aborted,
                DeploymentAction::CanaryEnd,
                from,
                from,
                Some(test.challenger_id),
                Some(test.id),
            )?;
        }
        let id = switch(&tx, change, DeploymentAction::Rollback, from, target, &[VersionStatus::Archived])?;
        tx.commit()?;
        Ok(id)
    }

    /// Start a canary test of `challenger` against the production version.
    pub fn start_canary(
        &mut self,
        challenger: i64,
        champion: i64,
        traffic_split: f64,
        change: &Change,
    ) -> anyhow::Result<i64> {
        let fence = self.fence.clone();
        let tx = self.transaction(Begin::Immediate)?;
        super::check_fence(&tx, &fence)?;
        checked_production(&tx, change, Some(champion))?;
        no_running_test(&tx, change)?;
        set_status(
            &tx,
            challenger,
            &[VersionStatus::Candidate, VersionStatus::Archived],
            VersionStatus::Canary,
        )?;
        failpoint::hit("canary:marked");
        let test: i64 = tx.query_row(
            "INSERT INTO ab_tests (symbol, regime, champion_id, challenger_id, traffic_split, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            params![change.symbol, change.regime, champion, challenger, traffic_split, change.at],
            |r| r.get(0),
        )?;
        insert_row(
            &tx,
            change,
            DeploymentAction::CanaryStart,
            Some(champion),
            Some(champion),
            Some(challenger),
            Some(test),
        )?;
        tx.commit()?;
        Ok(test)
    }

    /// End a canary test with its result (JSON).
    pub fn end_canary(
        &mut self,
        test: &AbTest,
        end: CanaryEnd,
        result: &serde_json::Value,
        change: &Change,
    ) -> anyhow::Result<()> {
        let tx = self.transaction(Begin::Immediate)?;
        checked_production(&tx, change, Some(test.champion_id))?;
        let (outcome, to) = match end {
            CanaryEnd::Promoted => {
                set_status(&tx, test.champion_id, &[VersionStatus::Production], VersionStatus::Archived)?;
                set_status(&tx, test.challenger_id, &[VersionStatus::Canary], VersionStatus::Production)?;
                ("promoted", test.challenger_id)
            }
            CanaryEnd::Kept => {
                set_status(&tx, test.challenger_id, &[VersionStatus::Canary], VersionStatus::Archived)?;
                ("kept", test.champion_id)
            }
        };
        failpoint::hit("canary:switched");
        let changed = tx.execute(
            "UPDATE ab_tests SET ended_at = ?1, outcome = ?2, result = ?3 WHERE id = ?4 AND ended_at IS NULL",
            params![change.at, outcome, result.to_string(), test.id],
        )?;
        anyhow::ensure!(
            changed == 1,
            "the canary test of {} {} has already ended",
            change.symbol,
            change.regime
        );
        insert_row(
            &tx,
            change,
            DeploymentAction::CanaryEnd,
            Some(test.champion_id),
            Some(to),
            Some(test.challenger_id),
            Some(test.id),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The running canary test of (symbol, regime), if any.
    pub fn running_test(&self, symbol: &str, regime: Regime) -> anyhow::Result<Option<AbTest>> {
        running_test(&self.db, symbol, regime)
    }

    /// When a version last became production: the newest deployment to it from another
    /// version (or from none), if any.
    pub fn promoted_at(&self, symbol: &str, regime: Regime, version_id: i64) -> anyhow::Result<Option<i64>> {
        Ok(self.db
            .query_opt(
                "SELECT created_at FROM deployments
                 WHERE symbol = ?1 AND regime = ?2 AND to_version_id = ?3 AND from_version_id IS DISTINCT FROM ?3
                 ORDER BY id DESC LIMIT 1",
                params![symbol, regime, version_id],
                |r| r.get(0),
            )?)
    }

    /// Deployment rows in the order they were written; `None` filters match everything.
    pub fn deployments(
        &self,
        symbol: Option<&str>,
        regime: Option<Regime>,
    ) -> anyhow::Result<Vec<DeploymentRow>> {
        // The filters are spelled out rather than `(?1 IS NULL OR ...)`, which SQLite cannot
        // seek an index with: a fleet's status asks this once per model.
        let filter = match (symbol, regime) {
            (Some(_), Some(_)) => "WHERE d.symbol = ?1 AND d.regime = ?2",
            (Some(_), None) => "WHERE d.symbol = ?1 AND ?2 IS NULL",
            (None, Some(_)) => "WHERE ?1 IS NULL AND d.regime = ?2",
            (None, None) => "WHERE ?1 IS NULL AND ?2 IS NULL",
        };
        let rows = self.db.query_map(
            &format!(
            "SELECT d.id, d.symbol, d.regime, d.action, f.version, t.version, c.version, d.reason, d.gates,
                    d.forced, d.actor, d.created_at
             FROM deployments d
             LEFT JOIN model_versions f ON f.id = d.from_version_id
             LEFT JOIN model_versions t ON t.id = d.to_version_id
             LEFT JOIN model_versions c ON c.id = d.canary_version_id
             {filter}
             ORDER BY d.symbol, d.regime, d.id"
        ),
            params![symbol, regime],
            |r| {
                Ok(DeploymentRow {
                    id: r.get(0)?,
                    symbol: r.get(1)?,
                    regime: r.get(2)?,
                    action: r.get(3)?,
                    from_version: r.get(4)?,
                    to_version: r.get(5)?,
                    canary_version: r.get(6)?,
                    reason: r.get(7)?,
                    gates: super::json_column_opt(r, 8)?,
                    forced: r.get(9)?,
                    actor: r.get(10)?,
                    created_at: r.get(11)?,
                })
            },
        )?;
        Ok(rows)
    }
}

fn production_id(conn: &Db, symbol: &str, regime: Regime) -> anyhow::Result<Option<i64>> {
    Ok(conn.query_opt(
        "SELECT id FROM model_versions WHERE symbol = ?1 AND regime = ?2 AND status = 'production'",
        params![symbol, regime],
        |r| r.get(0),
    )?)
}

fn running_test(conn: &Db, symbol: &str, regime: Regime) -> anyhow::Result<Option<AbTest>> {
    Ok(conn.query_opt(
        "SELECT id, symbol, regime, champion_id, challenger_id, traffic_split, started_at FROM ab_tests
         WHERE symbol = ?1 AND regime = ?2 AND ended_at IS NULL",
        params![symbol, regime],
        |r| {
            Ok(AbTest {
                id: r.get(0)?,
                symbol: r.get(1)?,
                regime: r.get(2)?,
                champion_id: r.get(3)?,
                challenger_id: r.get(4)?,
                traffic_split: r.get(5)?,
                started_at: r.get(6)?,
            })
        },
    )?)
}

/// The production version inside the transaction, which must be the one the caller
/// decided on; another process may have changed it since.
fn checked_production(tx: &Db, change: &Change, expected: Option<i64>) -> anyhow::Result<Option<i64>> {
    let found = production_id(tx, &change.symbol, change.regime)?;
    anyhow::ensure!(
        found == expected,
        "the production version of {} {} changed while this command ran; nothing was changed, run it again",
        change.symbol,
        change.regime
    );
    Ok(found)
}

/// Archive `from`, make `target` (now in one of `allowed`) production, and write the row;
/// with a crash point after each step, named `<action>:archived|switched|recorded`.
fn switch(
    tx: &Db,
    change: &Change,
    action: DeploymentAction,
    from: Option<i64>,
    target: i64,
    allowed: &[VersionStatus],
) -> anyhow::Result<i64> {
    if let Some(from) = from {
        set_status(tx, from, &[VersionStatus::Production], VersionStatus::Archived)?;
        failpoint::hit(&format!("{action}:archived"));
    }
    set_status(tx, target, allowed, VersionStatus::Production)?;
    failpoint::hit(&format!("{action}:switched"));
    let id = insert_row(tx, change, action, from, Some(target), None, None)?;
    failpoint::hit(&format!("{action}:recorded"));
    Ok(id)
}

/// Refuse inside the transaction if a canary test started since the caller looked.
fn no_running_test(tx: &Db, change: &Change) -> anyhow::Result<()> {
    anyhow::ensure!(
        running_test(tx, &change.symbol, change.regime)?.is_none(),
        "a canary test of {} {} started while this command ran; nothing was changed",
        change.symbol,
        change.regime
    );
    Ok(())
}

fn set_status(tx: &Db, id: i64, from: &[VersionStatus], to: VersionStatus) -> anyhow::Result<()> {
    let current: VersionStatus =
        tx.query_row("SELECT status FROM model_versions WHERE id = ?1", params![id], |r| r.get(0))?;
    anyhow::ensure!(
        from.contains(&current),
        "version id {id} is {current}, not {}",
        from.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or ")
    );
    tx.execute("UPDATE model_versions SET status = ?1 WHERE id = ?2", params![to, id])?;
    Ok(())
}

fn insert_row(
    tx: &Db,
    change: &Change,
    action: DeploymentAction,
    from: Option<i64>,
    to: Option<i64>,
    canary: Option<i64>,
    ab_test: Option<i64>,
) -> anyhow::Result<i64> {
    Ok(tx.query_row(
        "INSERT INTO deployments (symbol, regime, action, from_version_id, to_version_id, canary_version_id,
             ab_test_id, reason, gates, forced, actor, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
        params![
            change.symbol,
            change.regime,
            action,
            from,
            to,
            canary,
            ab_test,
            change.reason,
            change.gates.as_ref().map(|g| g.to_string()),
            change.forced,
            change.actor,
            change.at
        ],
        |r| r.get(0),
    )?)
}
