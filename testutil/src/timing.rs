//! The benchmarks' timing loop: contenders take turns for several rounds (so that a
//! busy machine slows them alike) and each one's median is reported, measured in the
//! benchmark thread's CPU time where the system has that clock (so that other
//! processes taking turns on the processor do not count), else in wall time.

use std::time::Instant;

/// Seconds this thread has run on a processor; `None` where there is no such clock.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn cpu_seconds() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0;
    ok.then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

/// Seconds this thread has run on a processor; `None` where there is no such clock.
#[cfg(not(unix))]
pub fn cpu_seconds() -> Option<f64> {
    None
}

/// What the figures measure: "CPU time of the benchmark thread" or "wall clock".
pub fn clock_name() -> &'static str {
    if cpu_seconds().is_some() {
        "CPU time of the benchmark thread"
    } else {
        "wall clock"
    }
}

/// Thread CPU time where available, else wall time since `origin`.
fn clock(origin: Instant) -> f64 {
    cpu_seconds().unwrap_or_else(|| origin.elapsed().as_secs_f64())
}

/// The median of `v` (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs contenders `0..count` (`pass(i)` runs contender i once and returns how many
/// units it did) in turn, for `rounds` rounds after one warm-up round, and returns each
/// one's median seconds per unit.
pub fn interleaved(rounds: usize, count: usize, mut pass: impl FnMut(usize) -> usize) -> Vec<f64> {
    let mut times = vec![Vec::new(); count];
    for round in 0..=rounds {
        for (i, t) in times.iter_mut().enumerate() {
            let origin = Instant::now();
            let start = clock(origin);
            let units = pass(i);
            let secs = clock(origin) - start;
            if round > 0 {
                // Round 0 warms caches and branch predictors.
                t.push(secs / units.max(1) as f64);
            }
        }
    }
    times.into_iter().map(median).collect()
}
