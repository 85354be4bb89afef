//! One `run` per SQLite state: an exclusive `flock` on `retrain.lock` beside the
//! database (a PostgreSQL state has many runs at once, see `lifecycle::run`). The kernel releases it when the process ends in any way, `kill -9`
//! included, so a crashed run never leaves it held; the file keeps the holder's pid and
//! start time for the message a second run prints.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A held lock; released when dropped (or when the process dies).
pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

/// Why the lock could not be taken.
pub enum Busy {
    /// Another process holds it: what it wrote there.
    Held(String),
    Io(std::io::Error),
}

#[cfg(unix)]
fn try_flock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a descriptor this function borrows for the call only.
    let status = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if status == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) { Ok(false) } else { Err(error) }
}

#[cfg(not(unix))]
fn try_flock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

/// Whether a process with this pid exists (it may not be a `retrain` any more).
#[cfg(unix)]
pub fn pid_alive(pid: i64) -> bool {
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    i32::try_from(pid).is_ok_and(|pid| pid > 0 && unsafe { libc::kill(pid, 0) } == 0)
}

#[cfg(not(unix))]
pub fn pid_alive(_pid: i64) -> bool {
    false
}

/// This process as writers and workers are named in the database: "HOST PID".
pub fn this_process() -> String {
    format!("{} {}", hostname().unwrap_or_else(|| "localhost".into()), std::process::id())
}

/// How long a writer on another machine, whose process cannot be asked, is presumed to be
/// alive: no train takes a day.
pub const OTHER_HOST_PRESUMED_ALIVE_MS: i64 = 24 * 3600 * 1000;

/// Whether the process named `writer` ("HOST PID", see [`this_process`]), which started
/// writing at `started_at` (wall clock, epoch ms), may still be writing at `now`: on this
/// host, whether its pid exists (a pid reused since reads as alive, which only delays a
/// clean-up); on another host, until a day has passed.
pub fn writer_alive(writer: &str, started_at: i64, now: i64) -> bool {
    let (host, pid) = writer.rsplit_once(' ').unwrap_or(("", writer));
    let this_host = hostname().unwrap_or_else(|| "localhost".into());
    match pid.parse::<i64>() {
        Ok(pid) if host == this_host => pid_alive(pid),
        _ => now.saturating_sub(started_at) < OTHER_HOST_PRESUMED_ALIVE_MS,
    }
}

#[cfg(unix)]
pub fn hostname() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname writes at most the buffer's length into a buffer this function owns.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    (status == 0 && end > 0).then(|| String::from_utf8_lossy(&buffer[..end]).into_owned())
}

#[cfg(not(unix))]
pub fn hostname() -> Option<String> {
    std::env::var("COMPUTERNAME").ok()
}

impl RunLock {
    /// Take the lock at `path`, writing `holder` into the file.
    pub fn acquire(path: &Path, holder: &str) -> Result<RunLock, Busy> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(Busy::Io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(Busy::Io)?;
        if !try_flock(&file).map_err(Busy::Io)? {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(Busy::Held(text.trim().to_string()));
        }
        // Only the holder writes, so a reader never sees a half-written line for long.
        file.set_len(0).map_err(Busy::Io)?;
        file.seek(SeekFrom::Start(0)).map_err(Busy::Io)?;
        file.write_all(holder.as_bytes()).map_err(Busy::Io)?;
        file.sync_all().map_err(Busy::Io)?;
        Ok(RunLock { _file: file, path: path.to_path_buf() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("retrain.lock");
        let first = RunLock::acquire(&path, "pid 1").ok().unwrap();
        match RunLock::acquire(&path, "pid 2") {
            Err(Busy::Held(holder)) => assert_eq!(holder, "pid 1"),
            _ => panic!("the lock was taken twice"),
        }
        drop(first);
        assert!(RunLock::acquire(&path, "pid 3").is_ok());
    }

    #[test]
    fn a_writer_is_alive_while_its_process_is() {
        let now = 10 * OTHER_HOST_PRESUMED_ALIVE_MS;
        assert!(writer_alive(&this_process(), now, now));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let host = hostname().unwrap_or_else(|| "localhost".into());
        assert!(!writer_alive(&format!("{host} {pid}"), now, now), "pid {pid} has exited");
        assert!(writer_alive("elsewhere 1", now - 1000, now));
        assert!(!writer_alive("elsewhere 1", now - OTHER_HOST_PRESUMED_ALIVE_MS, now));
    }
}
