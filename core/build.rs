//! Selects the kernels' modules at compile time.
//!
//! The vector levels: `cfg(postag_x86)` on x86-64 with SSE2, `cfg(postag_neon)` on
//! little-endian AArch64 with NEON, `cfg(postag_simd)` on either (one name each for
//! the target predicates `core/src/arch` selects its modules and levels by).
//!
//! The Cortex-M DSP kernels (`core/src/arch/arm.rs`):
//! Stable Rust does not report the `dsp` target feature to `cfg(target_feature)`, so
//! this script decides from the target and the flags and sets `cfg(postag_arm_dsp)`:
//! every `thumbv7em-*` target (ARMv7E-M, whose DSP instructions are part of the
//! architecture) unless the flags turn `dsp` off, and `thumbv8m.main-*` when the flags
//! turn it on (`-C target-feature=+dsp`) or name a core that has it (`-C
//! target-cpu=cortex-m33`, `cortex-m35p`, `cortex-m55`, `cortex-m85`).

use std::env;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postag_arm_dsp)");
    println!("cargo::rustc-check-cfg=cfg(postag_x86, postag_neon, postag_simd)");
    println!("cargo::rerun-if-changed=build.rs");
    let cfg = |key: &str| env::var(format!("CARGO_CFG_{key}")).unwrap_or_default();
    let target_features = cfg("TARGET_FEATURE");
    let has = |f: &str| target_features.split(',').any(|x| x == f);
    let x86 = cfg("TARGET_ARCH") == "x86_64" && has("sse2");
    let neon = cfg("TARGET_ARCH") == "aarch64" && cfg("TARGET_ENDIAN") == "little" && has("neon");
    for (name, on) in [
        ("postag_x86", x86),
        ("postag_neon", neon),
        ("postag_simd", x86 || neon),
    ] {
        if on {
            println!("cargo::rustc-cfg={name}");
        }
    }
    let target = env::var("TARGET").unwrap_or_default();
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let flags: Vec<&str> = flags.split('\x1f').collect();
    // `-C target-feature=+a,-b` or `-Ctarget-feature=...`, in either spelling.
    let values = |key: &str| -> Vec<String> {
        let mut out = Vec::new();
        for (i, f) in flags.iter().enumerate() {
            let f = f.strip_prefix("-C").unwrap_or(f);
            let f = if f.is_empty() {
                flags.get(i + 1).copied().unwrap_or("")
            } else {
                f
            };
            if let Some(v) = f.strip_prefix(key).and_then(|v| v.strip_prefix('=')) {
                out.extend(v.split(',').map(str::to_string));
            }
        }
        out
    };
    let features = values("target-feature");
    let cpus = values("target-cpu");
    let dsp_on = features.iter().any(|f| f == "+dsp");
    let dsp_off = features.iter().any(|f| f == "-dsp");
    let dsp_cpu = cpus.iter().any(|c| {
        matches!(
            c.as_str(),
            "cortex-m33" | "cortex-m35p" | "cortex-m55" | "cortex-m85"
        )
    });
    let dsp = if target.starts_with("thumbv7em") {
        !dsp_off
    } else if target.starts_with("thumbv8m.main") {
        (dsp_on || dsp_cpu) && !dsp_off
    } else {
        false
    };
    if dsp {
        println!("cargo::rustc-cfg=postag_arm_dsp");
    }
}
