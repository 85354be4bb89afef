//! `retrain replay`: the configured retraining policy against the baselines, walked
//! forward over stored history. The work is `replay`'s; this reads the flags, draws the
//! progress and writes what was asked for.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::candles::Interval;
use crate::candles::time::format_minute;
use crate::cli::ReplayArgs;
use crate::config::{self, Resolved};
use crate::error::{Failure, code};
use crate::output::{stderr_is_terminal, write_atomic};
use crate::replay::{self, Options, Policy, Root, Rule, Ticks, report};

pub fn run(resolved: &Resolved, args: &ReplayArgs) -> anyhow::Result<u8> {
    if args.from >= args.to {
        return Err(Failure::Usage(format!(
            "--from {} is not before --to {}",
            format_minute(args.from),
            format_minute(args.to)
        ))
        .into());
    }
    let ticks = match (args.schedule, args.every) {
        (true, _) => Ticks::Schedule,
        (false, every) => Ticks::Every(every.unwrap_or(Interval::from_millis(3_600_000).expect("an hour"))),
    };
    let mut policies = replay::standard_policies(&resolved.settings, args.baseline_every);
    for file in &args.policy {
        let variant = config::load(Some(file))?;
        let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if policies.iter().any(|p| p.name == name) {
            return Err(Failure::Usage(format!(
                "--policy {}: a policy named {name:?} is already replayed; rename the file",
                file.display()
            ))
            .into());
        }
        let mut settings = variant.settings;
        settings.symbols = resolved.settings.symbols.clone();
        settings.state = resolved.settings.state.clone();
        policies.push(Policy { name, rule: Rule::Triggers, settings });
    }
    if let Some(plot) = &args.plot
        && !plot.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg"))
    {
        return Err(
            Failure::Usage(format!("--plot {}: the plot is SVG; name a .svg file", plot.display())).into()
        );
    }
    let options = Options {
        from: args.from,
        to: args.to,
        symbol: args.symbol.clone(),
        ticks,
        policies,
        keep: args.keep.clone(),
    };
    let series = replay::series(resolved, &options)?;
    let instants = replay::ticks(resolved, &options)?;
    let root = Root::new(options.keep.as_deref())?;
    let bar = if stderr_is_terminal() {
        let total = (instants.len() * options.policies.len()) as u64;
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} ticks, {eta} left") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let names: Vec<String> = options.policies.iter().map(|p| p.name.clone()).collect();
    let replayed = replay::replay(&options, &series, &instants, root.path(), &mut |p, k, now| {
        bar.set_position((p * instants.len() + k) as u64);
        bar.set_message(format!("{} {}", names[p], format_minute(now)));
    })?;
    bar.finish_and_clear();
    let clock = match ticks {
        Ticks::Every(every) => format!("every {every}"),
        Ticks::Schedule => "the configured schedules".to_string(),
    };
    let (report, detail) =
        report::build(&resolved.settings, &replayed, &series, (args.from, args.to), clock, instants.len())?;
    if let Some(path) = &args.export {
        write_atomic(path, export(&detail).as_bytes())?;
    }
    if let Some(path) = &args.plot {
        write_atomic(path, replay::plot::svg(&report, &detail)?.as_bytes())?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report::render(&report));
        for path in [&args.export, &args.plot].into_iter().flatten() {
            println!("wrote {}", path.display());
        }
        if let Some(keep) = &args.keep {
            println!("scratch states kept in {}", keep.display());
        }
    }
    Ok(code::OK)
}

/// One CSV row per (policy, model, bar).
fn export(detail: &report::Detail) -> String {
    let mut out = String::from(
        "policy,symbol,regime,open_time,version,probability,position,market_return,strategy_return,equity\n",
    );
    for (policy, rows) in &detail.policies {
        for r in rows {
            out.push_str(&format!(
                "{policy},{},{},{},{},{},{},{},{},{}\n",
                r.symbol,
                r.regime.map_or(String::new(), |g| g.to_string()),
                crate::candles::time::format_rfc3339(r.open_time),
                r.version.map_or(String::new(), |v| v.to_string()),
                r.probability.map_or(String::new(), |p| p.to_string()),
                r.bar.position,
                r.bar.market_return,
                r.bar.strategy_return,
                r.bar.equity
            ));
        }
    }
    out
}
