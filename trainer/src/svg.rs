//! SVG charts for training reports, drawn with `plotters`: line charts and a
//! confusion matrix.
//!
//! Only the SVG backend is used, without a font engine: plotters lays text out with
//! a size estimate and writes it as `<text>` elements, so no font files or system
//! libraries are needed and the viewer renders the text in its own sans-serif.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const W: u32 = 640;
const H: u32 = 400;
const FONT: &str = "sans-serif";
const COLORS: [RGBColor; 4] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
];

/// Runs `draw` on a white `w`×`h` SVG canvas and returns the document.
fn render(
    w: u32,
    h: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> DrawResult,
) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (w, h)).into_drawing_area();
        // Drawing into a string cannot fail on I/O; a layout error leaves a partial
        // chart, which beats failing a finished training run over a plot.
        let _ = root.fill(&WHITE).and_then(|()| draw(&root));
        let _ = root.present();
    }
    out
}

type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// A linear f64 axis whose ticks are given rather than chosen by plotters.
struct FixedTicks {
    axis: RangedCoordf64,
    ticks: Vec<f64>,
}

impl FixedTicks {
    fn new(range: Range<f64>, ticks: Vec<f64>) -> Self {
        FixedTicks {
            axis: range.into(),
            ticks,
        }
    }
}

impl Ranged for FixedTicks {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.axis.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // The mesh asks for bold points (ticks, labels) and then light points
        // (extra grid lines); only the former exist here.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.axis.range()
    }
}

/// Whole-number ticks in steps of 1, 2, 5, 10, 20, … with at most ten of them.
fn integer_ticks(x0: f64, x1: f64) -> Vec<f64> {
    let mut step = 1.0;
    for k in [2.0, 2.5, 2.0].iter().cycle() {
        if (x1 - x0) / step <= 10.0 {
            break;
        }
        step *= k;
    }
    let first = (x0 / step).ceil() * step;
    (0..)
        .map(|i| first + i as f64 * step)
        .take_while(|&x| x <= x1 + 1e-9)
        .collect()
}

/// A line chart of `(x, y)` series with a title, axis labels, round ticks and a
/// legend. When every x is a whole number (epochs) the x ticks are whole numbers.
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> String {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let points = || series.iter().flat_map(|(_, p)| p.iter()).filter(finite);
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let integral_x = points().all(|(x, _)| x.fract() == 0.0);
    if x1 - x0 < 1e-12 {
        (x0, x1) = if integral_x {
            (x0 - 1.0, x1 + 1.0)
        } else {
            (x0 - 0.5, x1 + 0.5)
        };
    }
    if y1 - y0 < 1e-12 {
        (y0, y1) = (y0 - 0.5, y1 + 0.5);
    }
    let pad = (y1 - y0) * 0.08;
    (y0, y1) = (y0 - pad, y1 + pad);
    let x_ticks = if integral_x {
        integer_ticks(x0, x1)
    } else {
        RangedCoordf64::from(x0..x1).key_points(10)
    };
    // A little room at the sides so the first and last points clear the axes.
    let x_pad = (x1 - x0) * 0.03;
    (x0, x1) = (x0 - x_pad, x1 + x_pad);
    // The legend goes where the curves are not at the end: loss falls, accuracy rises.
    let ends_high = series
        .iter()
        .filter_map(|(_, p)| p.iter().rev().find(finite))
        .any(|&(_, y)| y > (y0 + y1) / 2.0);
    let legend_at = if ends_high {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    };
    render(W, H, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(FixedTicks::new(x0..x1, x_ticks), y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&|x| {
                if integral_x {
                    format!("{x:.0}")
                } else {
                    RangedCoordf64::format(x)
                }
            })
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .x_max_light_lines(1)
            .y_max_light_lines(1)
            .bold_line_style(RGBColor(0xcc, 0xcc, 0xcc))
            .draw()?;
        for (i, (name, pts)) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let pts: Vec<(f64, f64)> = pts.iter().filter(finite).copied().collect();
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(3))
                });
            if pts.len() <= 60 {
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
            }
        }
        chart
            .configure_series_labels()
            .position(legend_at)
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

/// Sequential blues from near-white (0) to dark blue (1).
fn blues(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 3] = [
        (247.0, 251.0, 255.0),
        (107.0, 174.0, 214.0),
        (8.0, 48.0, 107.0),
    ];
    let t = t.clamp(0.0, 1.0) * 2.0;
    let i = (t as usize).min(1);
    let (a, b, f) = (STOPS[i], STOPS[i + 1], t - i as f64);
    let mix = |p: f64, q: f64| (p + (q - p) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Colour position of a row share: square root, so that the small shares of the
/// errors stay visible next to the large ones on the diagonal.
fn shade(share: f64) -> f64 {
    share.clamp(0.0, 1.0).sqrt()
}

/// The colour bar's labelled shares (percent of the gold row).
const SCALE_TICKS: [f64; 7] = [0.0, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0];

/// A confusion matrix: rows are gold tags, columns predicted tags. Each non-zero cell
/// shows its token count; its colour is the cell's share of the gold row, read on
/// the colour bar at the right (0–100 % of the gold row).
pub fn confusion_matrix(
    title: &str,
    labels: &[String],
    counts: &dyn Fn(&str, &str) -> usize,
) -> String {
    let n = labels.len();
    let cell = (560.0 / n.max(1) as f64).clamp(14.0, 36.0);
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1) as u32;
    let label_area = 30 + 8 * longest.min(16);
    let size = (cell * n.max(1) as f64).round() as u32;
    let (bar_w, title_h) = (120, 40);
    let (w, h) = (
        label_area + size + 15 + bar_w,
        title_h + size + label_area + 15,
    );
    // The non-zero cells (row, column, count) and each row's total: a large tag set's
    // grid is mostly zeros, drawn once as the background.
    let mut cells = Vec::new();
    let mut totals = vec![0usize; n];
    for (i, g) in labels.iter().enumerate() {
        for (j, p) in labels.iter().enumerate() {
            let c = counts(g, p);
            if c > 0 {
                cells.push((i, j, c));
                totals[i] += c;
            }
        }
    }
    let count_font = (cell * 0.36).clamp(7.0, 12.0);
    let last = n.saturating_sub(1);
    render(w, h, |root| {
        let root = root.titled(title, (FONT, 20))?;
        let (matrix_area, bar_area) = root.split_horizontally(label_area + size + 15);
        // Row i of the matrix is drawn at y = n - 1 - i so the first gold tag is on top.
        let mut chart = ChartBuilder::on(&matrix_area)
            .margin_right(15)
            .x_label_area_size(label_area)
            .y_label_area_size(label_area)
            // An integer range segments inclusively: 0..last is n cells.
            .build_cartesian_2d((0..last).into_segmented(), (0..last).into_segmented())?;
        let name = |v: &SegmentValue<usize>, flip: bool| match v {
            SegmentValue::CenterOf(i) if *i < n => {
                labels[if flip { n - 1 - i } else { *i }].clone()
            }
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            // Column labels are drawn below, turned to read upwards; the mesh only
            // draws their ticks (an invisible label style writes no text).
            .x_labels(n + 1)
            .x_label_formatter(&|_| String::new())
            .x_label_style((FONT, 12).into_font().color(&TRANSPARENT))
            .y_labels(n + 1)
            .y_label_formatter(&|v| name(v, true))
            .y_label_style((FONT, 12))
            .x_desc("predicted")
            .y_desc("gold")
            .axis_desc_style((FONT, 15))
            .draw()?;
        let column_label = (FONT, 12)
            .into_font()
            .transform(FontTransform::Rotate270)
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        chart.draw_series(labels.iter().enumerate().map(|(j, l)| {
            EmptyElement::at((SegmentValue::CenterOf(j), SegmentValue::Exact(0)))
                + Text::new(l.clone(), (0, 6), column_label.clone())
        }))?;
        let square = |(i, j): (usize, usize), (h, w): (usize, usize), t: f64| {
            Rectangle::new(
                [
                    (SegmentValue::Exact(j), SegmentValue::Exact(i)),
                    (SegmentValue::Exact(j + w), SegmentValue::Exact(i + h)),
                ],
                blues(t).filled(),
            )
        };
        chart.draw_series(std::iter::once(square((0, 0), (n, n), shade(0.0))))?;
        for &(i, j, c) in &cells {
            let y = n - 1 - i;
            let t = shade(c as f64 / totals[i] as f64);
            chart.draw_series(std::iter::once(square((y, j), (1, 1), t)))?;
            let ink = if t > 0.6 { WHITE } else { BLACK };
            chart.draw_series(std::iter::once(Text::new(
                c.to_string(),
                (SegmentValue::CenterOf(j), SegmentValue::CenterOf(y)),
                (FONT, count_font)
                    .into_font()
                    .color(&ink)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            )))?;
        }
        // The colour bar, on a square-root axis labelled in percent of the gold row.
        let mut bar = ChartBuilder::on(&bar_area)
            .margin_left(5)
            .margin_right(5)
            .x_label_area_size(label_area)
            .right_y_label_area_size(80)
            .build_cartesian_2d(
                0.0..1.0,
                FixedTicks::new(
                    0.0..1.0,
                    SCALE_TICKS.iter().map(|p| shade(p / 100.0)).collect(),
                ),
            )?;
        let steps = 100;
        bar.draw_series((0..steps).map(|k| {
            let (a, b) = (k as f64 / steps as f64, (k + 1) as f64 / steps as f64);
            Rectangle::new([(0.0, a), (1.0, b)], blues((a + b) / 2.0).filled())
        }))?;
        bar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_label_formatter(&|t| format!("{:.0}%", 100.0 * t * t))
            .y_label_style((FONT, 12))
            .y_desc("% of gold row")
            .axis_desc_style((FONT, 13))
            .draw()?;
        bar.draw_series(std::iter::once(Rectangle::new(
            [(0.0, 0.0), (1.0, 1.0)],
            BLACK.stroke_width(1),
        )))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of every `<text>` element, after parsing the document as XML.
    fn texts(svg: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap_or("").trim().to_string())
            .collect()
    }

    fn numbers(texts: &[String]) -> Vec<f64> {
        texts.iter().filter_map(|t| t.parse().ok()).collect()
    }

    #[test]
    fn line_chart_ticks_are_round_and_text_is_there() {
        let svg = line_chart(
            "dev accuracy",
            "epoch",
            "accuracy (%)",
            &[("dev", vec![(1.0, 80.47), (2.0, 84.42), (3.0, 90.1)])],
        );
        let t = texts(&svg);
        for s in ["dev accuracy", "epoch", "accuracy (%)", "dev"] {
            assert!(t.iter().any(|x| x == s), "{s:?} missing from {t:?}");
        }
        // Epochs: exactly the whole numbers 1, 2, 3 (no 1.5).
        for e in ["1", "2", "3"] {
            assert!(t.iter().any(|x| x == e), "epoch tick {e} missing: {t:?}");
        }
        // Accuracy ticks: some even numbers between the data's extremes, and every
        // numeric label a multiple of 0.5 (never a data value such as 80.47).
        let nums = numbers(&t);
        assert!(
            ["82", "84", "86", "88", "82.0", "84.0", "86.0", "88.0"]
                .iter()
                .filter(|s| t.iter().any(|x| x == *s))
                .count()
                >= 2,
            "round y ticks missing: {t:?}"
        );
        for v in &nums {
            assert!((v * 2.0).fract() == 0.0, "tick {v} is not round: {t:?}");
        }
        assert!(!t.iter().any(|x| x == "80.47" || x == "84.42" || x == "1.5"));
    }

    #[test]
    fn fractional_x_gets_plotters_round_ticks() {
        let t = texts(&line_chart(
            "t",
            "x",
            "y",
            &[("s", vec![(0.13, 1.0), (0.61, 2.0), (0.97, 3.0)])],
        ));
        for s in ["0.2", "0.4", "0.6", "0.8"] {
            assert!(t.iter().any(|x| x == s), "x tick {s} missing: {t:?}");
        }
        assert!(!t.iter().any(|x| x.contains("0000")), "{t:?}");
    }

    #[test]
    fn line_chart_escapes_and_survives_odd_input() {
        let svg = line_chart(
            "loss <train> & more",
            "epoch",
            "loss",
            &[
                ("train", vec![(1.0, 2.0), (2.0, f64::NAN), (3.0, 1.0)]),
                ("a&b", vec![(1.0, 1.5)]),
            ],
        );
        let t = texts(&svg);
        assert!(t.iter().any(|x| x == "loss <train> & more"), "{t:?}");
        assert!(t.iter().any(|x| x == "a&b"), "{t:?}");
        for data in [vec![], vec![(5.0, 0.3)], vec![(0.5, 1.0), (0.75, 1.0)]] {
            let t = texts(&line_chart("t", "x", "y", &[("s", data)]));
            assert!(t.iter().any(|x| x == "t"));
        }
    }

    #[test]
    fn confusion_matrix_shows_counts_axes_and_scale() {
        let labels: Vec<String> = ["NOUN", "VERB", "A&B"].map(String::from).into();
        let table = |g: &str, p: &str| match (g, p) {
            ("NOUN", "NOUN") => 1234,
            ("NOUN", "VERB") => 17,
            ("VERB", "VERB") => 980,
            ("VERB", "NOUN") => 3,
            ("A&B", "A&B") => 5,
            _ => 0,
        };
        let svg = confusion_matrix("dev confusion", &labels, &table);
        let t = texts(&svg);
        for s in ["dev confusion", "predicted", "gold", "% of gold row"] {
            assert!(t.iter().any(|x| x == s), "{s:?} missing: {t:?}");
        }
        // Each tag labels a row and a column.
        for l in &labels {
            assert_eq!(t.iter().filter(|x| *x == l).count(), 2, "{l}: {t:?}");
        }
        // Every non-zero count is written, and no zero cell is.
        for c in ["1234", "17", "980", "3", "5"] {
            assert!(t.iter().any(|x| x == c), "count {c} missing: {t:?}");
        }
        assert!(!t.iter().any(|x| x == "0"), "{t:?}");
        // The colour bar runs from 0% to 100% of the gold row.
        for s in ["0%", "50%", "100%"] {
            assert!(t.iter().any(|x| x == s), "scale label {s} missing: {t:?}");
        }
        // Empty input still gives a document.
        texts(&confusion_matrix("empty", &[], &|_, _| 0));
        // A large tag set's drawing grows with its non-zero cells, not with every pair:
        // 1,000 tags with a diagonal (a million pairs) in well under a megabyte.
        let many: Vec<String> = (0..1000).map(|k| format!("T{k}")).collect();
        let svg = confusion_matrix("many", &many, &|g, p| usize::from(g == p));
        assert!(svg.len() < 1_000_000, "{} bytes", svg.len());
    }

    #[test]
    fn integer_ticks_are_whole_and_few() {
        assert_eq!(integer_ticks(0.0, 2.0), [0.0, 1.0, 2.0]);
        assert_eq!(integer_ticks(1.0, 6.0), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let t = integer_ticks(1.0, 100.0);
        assert!(t.len() <= 10 && t.iter().all(|x| x.fract() == 0.0), "{t:?}");
    }
}
