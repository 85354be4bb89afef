//! `retrain check`: verify the whole state, print each problem with its fix, and with
//! `--repair` make the fixes that lose nothing (see `lifecycle::check`).

use serde_json::json;

use crate::cli::CheckArgs;
use crate::config::Resolved;
use crate::error::code;
use crate::lifecycle::check::{self, Report};
use crate::output::Paint;

pub fn run(resolved: &Resolved, args: &CheckArgs) -> anyhow::Result<u8> {
    let report = check::check(resolved, args.repair)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "ok": report.remaining() == 0,
                "database": report.database,
                "models": report.models,
                "artifact_bytes": report.artifact_bytes,
                "checked": report.checked,
                "problems": report.problems,
                "in_progress": report.in_progress,
            }))?
        );
    } else {
        print!("{}", render(&report, Paint::stdout()));
    }
    Ok(if report.remaining() == 0 { code::OK } else { code::PROBLEMS })
}

fn render(report: &Report, paint: Paint) -> String {
    let mut out = format!("checked {} and {}\n", report.database, report.models);
    for checked in &report.checked {
        let found = report.problems.iter().filter(|p| p.part == checked.part).count();
        let verdict = if found == 0 { paint.green("ok") } else { paint.red(&format!("{found} problem(s)")) };
        out += &format!("  {:<11} {verdict}  ({})\n", checked.part.as_str(), checked.summary);
    }
    for line in &report.in_progress {
        out += &format!("  under way: {line}\n");
    }
    for (i, p) in report.problems.iter().enumerate() {
        out += &format!("{}. {}: {}\n", i + 1, p.subject, p.problem);
        out += &if p.repaired {
            format!("   {}\n", paint.green("repaired"))
        } else {
            format!("   fix: {}\n", p.fix)
        };
    }
    let remaining = report.remaining();
    out += &match (report.problems.len(), remaining) {
        (0, _) => format!("{}\n", paint.green("no problem found")),
        (found, 0) => format!("{found} problem(s) found, all repaired\n"),
        (_, remaining) => format!("{}\n", paint.red(&format!("{remaining} problem(s) remain"))),
    };
    out
}
