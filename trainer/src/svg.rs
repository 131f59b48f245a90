//! Small SVG charts for training reports: line charts and a confusion matrix.

use std::fmt::Write;

const W: f64 = 640.0;
const H: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A line chart of `(x, y)` series with a legend, axis labels and min/max ticks.
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> String {
    let points = series.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 - x0 < 1e-12 {
        x1 = x0 + 1.0;
    }
    if y1 - y0 < 1e-12 {
        (y0, y1) = (y0 - 0.5, y1 + 0.5);
    }
    let pad = (y1 - y0) * 0.05;
    (y0, y1) = (y0 - pad, y1 + pad);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP + ph - (y - y0) / (y1 - y0) * ph;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
        W / 2.0,
        escape(title)
    );
    let _ = write!(
        s,
        r#"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
    );
    // Whole-number x data (epochs) get whole-number ticks.
    let integral_x = series
        .iter()
        .flat_map(|(_, p)| p.iter())
        .all(|(x, _)| x.fract() == 0.0);
    for i in 0..=4 {
        let f = i as f64 / 4.0;
        let yv = y0 + f * (y1 - y0);
        let xv = if integral_x {
            (x0 + f * (x1 - x0)).round()
        } else {
            x0 + f * (x1 - x0)
        };
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text><text x="{}" y="{}" text-anchor="middle">{}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            sy(yv) + 4.0,
            fmt_num(yv),
            sx(xv),
            TOP + ph + 18.0,
            fmt_num(xv),
            y = sy(yv),
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text><text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">{}</text>"#,
        LEFT + pw / 2.0,
        H - 10.0,
        escape(x_label),
        TOP + ph / 2.0,
        TOP + ph / 2.0,
        escape(y_label)
    );
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let path: Vec<String> = pts
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            path.join(" ")
        );
        if pts.len() <= 60 {
            for p in &path {
                let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = write!(s, r#"<circle cx="{x}" cy="{y}" r="3" fill="{color}"/>"#);
            }
        }
        let ly = TOP + 10.0 + 20.0 * i as f64;
        let _ = write!(
            s,
            r#"<line x1="{}" x2="{}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            W - RIGHT + 12.0,
            W - RIGHT + 32.0,
            W - RIGHT + 38.0,
            ly + 4.0,
            escape(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// A confusion matrix: rows gold, columns predicted; cell shade = share of the gold row.
pub fn confusion_matrix(
    title: &str,
    labels: &[String],
    counts: &dyn Fn(&str, &str) -> usize,
) -> String {
    let n = labels.len().max(1);
    let cell = (560.0 / n as f64).clamp(12.0, 36.0);
    let (left, top) = (90.0, 90.0);
    let size = cell * n as f64;
    let (w, h) = (left + size + 20.0, top + size + 20.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="10"><rect width="100%" height="100%" fill="white"/><text x="{}" y="18" text-anchor="middle" font-size="14">{}</text><text x="{}" y="36" text-anchor="middle">predicted</text><text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">gold</text>"#,
        w / 2.0,
        escape(title),
        left + size / 2.0,
        top + size / 2.0,
        top + size / 2.0
    );
    for (i, gold) in labels.iter().enumerate() {
        let row_total: usize = labels.iter().map(|p| counts(gold, p)).sum();
        let y = top + i as f64 * cell;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            left - 4.0,
            y + cell * 0.65,
            escape(gold)
        );
        for (j, pred) in labels.iter().enumerate() {
            let c = counts(gold, pred);
            let share = if row_total > 0 {
                c as f64 / row_total as f64
            } else {
                0.0
            };
            let shade = (255.0 * (1.0 - share.sqrt())).round() as u8;
            let x = left + j as f64 * cell;
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{cell:.1}" height="{cell:.1}" fill="rgb({shade},{shade},255)" stroke="white"><title>gold {} predicted {}: {c}</title></rect>"#,
                escape(gold),
                escape(pred)
            );
        }
    }
    for (j, pred) in labels.iter().enumerate() {
        let x = left + j as f64 * cell + cell * 0.65;
        let _ = write!(
            s,
            r#"<text x="{x:.1}" y="{}" transform="rotate(-60 {x:.1} {})">{}</text>"#,
            top - 4.0,
            top - 4.0,
            escape(pred)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn charts_are_well_formed_svg_with_escaped_text() {
        let svg = super::line_chart(
            "loss <train>",
            "epoch",
            "loss",
            &[("train", vec![(1.0, 2.0), (2.0, 1.0)])],
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("loss &lt;train&gt;"));
        assert!(svg.contains("<polyline"));
        let labels = vec!["A".to_string(), "B&C".to_string()];
        let svg = super::confusion_matrix("c", &labels, &|g, p| usize::from(g == p) * 5 + 1);
        assert_eq!(svg.matches("<rect x=").count(), 4);
        assert!(svg.contains("B&amp;C"));
    }
}
