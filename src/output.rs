//! Output for people and for machines: aligned tables, terminal detection, progress
//! bars only on a terminal, and files written atomically.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::env_vars;

/// Whether stderr is a terminal a person watches (progress bars go there).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Whether colour may be used on stdout: never with `NO_COLOR` set (non-empty), always
/// with `CLICOLOR_FORCE` set (not `0`), else on a terminal that is not `TERM=dumb`.
pub fn colour_on_stdout() -> bool {
    let value = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if value(env_vars::NO_COLOR).is_some() {
        return false;
    }
    if value(env_vars::CLICOLOR_FORCE).is_some_and(|v| v != "0") {
        return true;
    }
    std::io::stdout().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

/// ANSI colours for stdout, or none: every method returns the text unchanged when off.
/// [`Paint::html`] marks the same spans for a web page instead (see [`html_markup`]), so
/// that a page colours a cell exactly as a terminal does.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    pub on: bool,
    html: bool,
}

/// Around a span that [`Paint::html`] coloured: start, then the class, then the text,
/// then the end. Control characters that no cell contains.
const SPAN_START: char = '\u{1}';
const SPAN_TEXT: char = '\u{2}';
const SPAN_END: char = '\u{3}';

impl Paint {
    pub fn stdout() -> Paint {
        Paint { on: colour_on_stdout(), html: false }
    }

    /// Colours as ANSI escapes (`on`) or none.
    pub fn ansi(on: bool) -> Paint {
        Paint { on, html: false }
    }

    /// Colours for a web page: spans marked for [`html_markup`].
    pub fn html() -> Paint {
        Paint { on: true, html: true }
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if !self.on || text.is_empty() {
            return text.to_string();
        }
        if self.html {
            let class = match code {
                "31" => "red",
                "1;31" => "bold-red",
                "32" => "green",
                "33" => "yellow",
                "1" => "bold",
                _ => "dim",
            };
            let text: String =
                text.chars().filter(|c| !matches!(*c, SPAN_START | SPAN_TEXT | SPAN_END)).collect();
            return format!("{SPAN_START}{class}{SPAN_TEXT}{text}{SPAN_END}");
        }
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    pub fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }

    pub fn bold_red(self, text: &str) -> String {
        self.wrap("1;31", text)
    }

    pub fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }

    pub fn yellow(self, text: &str) -> String {
        self.wrap("33", text)
    }

    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }

    /// A drift or alert severity in its colour: critical bold red, high red, medium
    /// yellow, anything else as it is.
    pub fn severity(self, severity: &str, text: &str) -> String {
        match severity {
            "critical" => self.bold_red(text),
            "high" => self.red(text),
            "medium" => self.yellow(text),
            _ => text.to_string(),
        }
    }
}

/// Text escaped for HTML, with the spans [`Paint::html`] marked turned into
/// `<span class="...">` elements.
pub fn html_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            SPAN_START => out.push_str("<span class=\""),
            SPAN_TEXT => out.push_str("\">"),
            SPAN_END => out.push_str("</span>"),
            c => out.push(c),
        }
    }
    out
}

/// The width of `text` on a terminal: its characters, less ANSI escape sequences.
pub fn visible_width(text: &str) -> usize {
    let mut width = 0;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            width += 1;
        }
    }
    width
}

/// A byte-count progress bar on stderr for work of `len` bytes, drawn only on a terminal
/// and only when the work is large enough to be worth watching.
pub fn byte_progress(len: u64, message: &str) -> ProgressBar {
    const WORTH_A_BAR: u64 = 8 * 1024 * 1024;
    if len < WORTH_A_BAR || !stderr_is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:40} {bytes}/{total_bytes} {eta}") {
        bar.set_style(style);
    }
    bar.set_message(message.to_string());
    bar
}

/// A text table with columns padded to their widest cell; the last column is not padded.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<const N: usize>(header: [&str; N]) -> Table {
        Table { header: header.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| visible_width(h)).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(visible_width(cell));
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                line.push_str(cell);
                if i + 1 < columns {
                    line.push_str(&" ".repeat(widths[i] - visible_width(cell) + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Write `bytes` to `path` so that a reader never sees a partial file: write a temporary
/// file beside it, sync it, rename it over `path`, sync the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = folder.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        // The rename is durable only once the folder's entry is on disk.
        if let Ok(dir) = std::fs::File::open(folder) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Where event lines go instead of stdout.
pub type EventSink = Box<dyn FnMut(&str) + Send>;

/// The sink of event lines while a replay drives the lifecycle.
static REDIRECT: std::sync::Mutex<Option<EventSink>> = std::sync::Mutex::new(None);

/// Send every event line to `sink` instead of stdout (`None`: back to stdout); returns
/// the sink it replaces. A replay runs `run`'s lifecycle thousands of times: its lines
/// go to the replay's log, not to the user's terminal.
pub fn redirect_events(sink: Option<EventSink>) -> Option<EventSink> {
    match REDIRECT.lock() {
        Ok(mut current) => std::mem::replace(&mut *current, sink),
        Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), sink),
    }
}

/// Print one event line on stdout; off a terminal (cron, CI) it starts with a UTC
/// timestamp so that a log file tells when it happened.
pub fn event(message: &str) {
    if let Ok(mut redirect) = REDIRECT.lock()
        && let Some(sink) = redirect.as_mut()
    {
        sink(message);
        return;
    }
    if std::io::stdout().is_terminal() {
        println!("{message}");
    } else {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        println!("{now} {message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let mut table = Table::new(["SYMBOL", "N", "NOTE"]);
        table.row(vec!["BTCUSDT".into(), "45031".into(), "ok".into()]);
        table.row(vec!["X".into(), "1".into(), "".into()]);
        assert_eq!(table.render(), "SYMBOL   N      NOTE\nBTCUSDT  45031  ok\nX        1\n");
    }

    #[test]
    fn coloured_cells_align_as_their_visible_text() {
        let paint = Paint::ansi(true);
        let mut table = Table::new(["A", "B"]);
        table.row(vec![paint.red("high"), "x".into()]);
        table.row(vec!["critical".into(), "y".into()]);
        assert_eq!(table.render(), "A         B\n\x1b[31mhigh\x1b[0m      x\ncritical  y\n");
        assert_eq!(visible_width(&paint.bold_red("▁▅█")), 3);
        assert_eq!(Paint::ansi(false).red("high"), "high");
        let html = Paint::html();
        assert_eq!(
            html_markup(&format!("{} <b>", html.severity("critical", "critical & 2m"))),
            "<span class=\"bold-red\">critical &amp; 2m</span> &lt;b&gt;"
        );
        // Text that carries the markers cannot open a span of its own.
        assert_eq!(html_markup(&html.red("a\u{1}x\u{2}b")), "<span class=\"red\">axb</span>");
        assert_eq!(paint.severity("critical", "critical 0m"), "\x1b[1;31mcritical 0m\x1b[0m");
        assert_eq!(paint.severity("medium", "m"), "\x1b[33mm\x1b[0m");
        assert_eq!(paint.severity("none", "none 0m"), "none 0m");
    }

    #[test]
    fn atomic_writes_replace_the_whole_file_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/f.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> =
            std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["f.txt"]);
    }
}
