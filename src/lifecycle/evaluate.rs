//! Evaluation of versions on bars they never saw: a version's backtest with its
//! degradation check, and champion against challenger on the bars neither saw.

use super::{RaisedAlert, load_artifact, version_view};
use crate::artifact::Loaded;
use crate::candles::Interval;
use crate::candles::time::format_minute;
use crate::config::{Resolved, Settings, Severity};
use crate::error::Failure;
use crate::evaluation::backtest::Rules;
use crate::evaluation::compare::Comparison;
use crate::evaluation::score::{self, Requested, Scored, View};
use crate::evaluation::{self, Record, versus};
use crate::kinds::{AlertKind, EvaluationKind, VersionStatus};
use crate::store::{ComparisonRecord, NewAlert, NewEvaluation, Store, VersionRow};

/// A version's backtest on a window of unseen bars, and its degradation check (with an
/// alert for a production or canary version).
pub struct Checked {
    pub scored: Scored,
    pub rules: Rules,
    /// Open times of the window's first and last bar.
    pub from: i64,
    pub to: i64,
    pub degradation: Option<evaluation::Degradation>,
    pub alert: Option<RaisedAlert>,
}

impl Checked {
    /// The metrics as stored.
    pub fn record(&self) -> Record {
        Record { classification: self.scored.classification, trading: Some(self.scored.trading) }
    }
}

/// Backtest `version` on `requested`, cut to the bars after its validation window and
/// embargo. With `record_it`, store the evaluation at `now` and alert on a degraded
/// production or canary version.
pub fn backtest(
    resolved: &Resolved,
    store: &mut Store,
    version: &VersionRow,
    requested: Requested,
    record_it: bool,
    now: i64,
) -> anyhow::Result<Checked> {
    let loaded = load_artifact(resolved, version)?;
    let view = version_view(store, version, &loaded)?;
    backtest_on(resolved, store, version, (&loaded, &view), requested, record_it, now)
}

/// [`backtest`] with the version's artifact loaded and its view of the candles computed
/// (predicting at least the bars of `requested`).
pub fn backtest_on(
    resolved: &Resolved,
    store: &mut Store,
    version: &VersionRow,
    (loaded, view): (&Loaded, &View),
    requested: Requested,
    record_it: bool,
    now: i64,
) -> anyhow::Result<Checked> {
    let settings = &resolved.settings;
    let horizon = loaded.manifest.label.horizon_bars as usize;
    let unseen = score::unseen_start(&view.table.open_time, loaded.manifest.validation.to, horizon);
    let window = score::window(&view.table.open_time, requested, unseen).map_err(|e| {
        Failure::Refused(format!(
            "cannot evaluate {} {} v{}: {e}",
            version.symbol, version.regime, version.version
        ))
    })?;
    let rules = Rules::from_settings(&settings.evaluation, version.interval);
    let scored = score::score(view, window, &rules);
    let times = &view.table.open_time;
    let (from, to) = (times[scored.window.start], times[scored.window.end - 1]);
    let mut checked = Checked { scored, rules, from, to, degradation: None, alert: None };
    let record = checked.record();
    if record_it {
        let evaluation = NewEvaluation {
            kind: EvaluationKind::Backtest,
            window: (from, to),
            rows: checked.scored.bars.len(),
            record,
        };
        store.insert_evaluation(version.id, &evaluation, now)?;
    }
    let test = store.test_record(version.id)?;
    checked.degradation = test.and_then(|t| {
        evaluation::degradation(settings.evaluation.metric, &t, &record, settings.triggers.performance_decay)
    });
    let live = matches!(version.status, VersionStatus::Production | VersionStatus::Canary);
    if let Some(d) = checked.degradation.as_ref().filter(|d| record_it && d.degraded && live) {
        let message = format!(
            "{} {} v{}: {} fell from {:.4} on its test window to {:.4} on {} .. {} ({:.1}% down, more than triggers.performance_decay {:.0}%)",
            version.symbol,
            version.regime,
            version.version,
            d.metric,
            d.test,
            d.recent,
            format_minute(from),
            format_minute(to),
            100.0 * d.relative_drop,
            100.0 * d.threshold
        );
        let raised = store.raise_alert(&NewAlert {
            kind: AlertKind::PerformanceDegradation,
            severity: Severity::High,
            symbol: version.symbol.clone(),
            regime: Some(version.regime),
            version_id: Some(version.id),
            message: message.clone(),
            details: serde_json::to_value(d)?,
            created_at: now,
        })?;
        checked.alert = Some(RaisedAlert { raised, message });
    }
    Ok(checked)
}

/// Champion and challenger compared on shared unseen bars.
pub struct Compared {
    /// Open times of the shared window's first and last bar.
    pub from: i64,
    pub to: i64,
    pub comparison: Comparison,
}

/// Champion and challenger on the bars neither saw (after the later validation window
/// and its embargo) within `requested`, or why the two share no such bar.
pub fn champion_vs_challenger(
    settings: &Settings,
    interval: Interval,
    champion: (&Loaded, &View),
    challenger: (&Loaded, &View),
    requested: Requested,
) -> Result<Compared, String> {
    let times = &challenger.1.table.open_time;
    let unseen = [champion.0, challenger.0]
        .iter()
        .map(|m| score::unseen_start(times, m.manifest.validation.to, m.manifest.label.horizon_bars as usize))
        .max()
        .unwrap_or(0);
    let (window, comparison) =
        versus::compare_views(settings, interval, champion.1, challenger.1, requested, unseen)?;
    Ok(Compared { from: times[window.start], to: times[window.end - 1], comparison })
}

/// Compare two versions of a model on their shared unseen bars within `requested` and
/// store the comparison with the challenger at `now`; the inner error says why they share
/// no such bar (inconclusive, nothing stored).
pub fn compare(
    resolved: &Resolved,
    store: &mut Store,
    champion: &VersionRow,
    challenger: &VersionRow,
    requested: Requested,
    now: i64,
) -> anyhow::Result<Result<Compared, String>> {
    if champion.id == challenger.id {
        return Err(Failure::Usage(format!("v{} cannot be compared with itself", champion.version)).into());
    }
    if champion.interval != challenger.interval {
        return Err(Failure::Usage(format!(
            "v{} trades {} candles and v{} {}: they cannot be scored on the same bars",
            champion.version, champion.interval, challenger.version, challenger.interval
        ))
        .into());
    }
    let (champion_model, challenger_model) =
        (load_artifact(resolved, champion)?, load_artifact(resolved, challenger)?);
    let champion_view = version_view(store, champion, &champion_model)?;
    let challenger_view = version_view(store, challenger, &challenger_model)?;
    let compared = match champion_vs_challenger(
        &resolved.settings,
        challenger.interval,
        (&champion_model, &champion_view),
        (&challenger_model, &challenger_view),
        requested,
    ) {
        Ok(compared) => compared,
        Err(why) => return Ok(Err(why)),
    };
    let record = ComparisonRecord {
        champion: champion.version,
        challenger: challenger.version,
        comparison: compared.comparison.clone(),
    };
    store.insert_comparison(
        challenger.id,
        (compared.from, compared.to),
        compared.comparison.bars,
        &record,
        now,
    )?;
    Ok(Ok(compared))
}
