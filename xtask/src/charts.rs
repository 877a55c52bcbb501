//! Charts for the book, drawn as SVG from committed data, never from a new
//! measurement: the tests redraw them and compare.
//!
//! [`bars`] draws a horizontal bar chart on a logarithmic scale (the
//! figures span several orders of magnitude) from `(label, value)` rows;
//! [`ratio_bars`] draws ratios on a linear scale, with a line at 1.

/// One bar.
pub struct Bar {
    pub label: String,
    pub value: u64,
}

const PLOT_WIDTH: u32 = 480;
const ROW: u32 = 22;
const TOP: u32 = 40;

/// A horizontal bar chart, log10 scale, with the value at each bar's end.
pub fn bars(title: &str, unit: &str, rows: &[Bar]) -> String {
    let frame = Frame::new(rows.iter().map(|b| b.label.as_str()));
    let max = rows.iter().map(|b| b.value).max().unwrap_or(1).max(10);
    let decades = (max as f64).log10().ceil().max(1.0);
    let x_of = |v: u64| frame.label_width as f64 + PLOT_WIDTH as f64 * ((v.max(1) as f64).log10() / decades);
    let mut svg = frame.open(title);
    for d in 0..=decades as u32 {
        svg += &frame.tick(x_of(10u64.pow(d)), &format!("10^{d}"));
    }
    for (i, bar) in rows.iter().enumerate() {
        svg += &frame.bar(i, &bar.label, x_of(bar.value), &bar.value.to_string());
    }
    svg + &frame.close(&format!("{unit} (log scale)"))
}

/// One bar of [`ratio_bars`].
pub struct Ratio {
    pub label: String,
    pub value: f64,
}

/// A horizontal bar chart of ratios, linear scale from 0, with a line at
/// 1 (`reference` names what 1 is) and the value at each bar's end.
pub fn ratio_bars(title: &str, unit: &str, reference: &str, rows: &[Ratio]) -> String {
    let frame = Frame::new(rows.iter().map(|b| b.label.as_str()));
    let max = rows.iter().map(|b| b.value).filter(|v| v.is_finite()).fold(1.0f64, f64::max).ceil();
    let x_of = |v: f64| frame.label_width as f64 + PLOT_WIDTH as f64 * (v.clamp(0.0, max) / max);
    let mut svg = frame.open(title);
    for tick in 0..=max as u32 {
        svg += &frame.tick(x_of(tick as f64), &tick.to_string());
    }
    for (i, bar) in rows.iter().enumerate() {
        svg += &frame.bar(i, &bar.label, x_of(bar.value), &format!("{:.2}", bar.value));
    }
    let one = x_of(1.0);
    svg += &format!("  <line x1=\"{one:.1}\" y1=\"{}\" x2=\"{one:.1}\" y2=\"{}\" stroke=\"#c33\" stroke-width=\"2\"/>\n", TOP - 6, frame.bottom);
    svg += &format!("  <text x=\"{:.1}\" y=\"{}\" fill=\"#c33\">{}</text>\n", one + 4.0, TOP - 8, escape(reference));
    svg + &frame.close(unit)
}

/// The layout shared by the charts: labels on the left, one row a bar.
struct Frame {
    label_width: u32,
    width: u32,
    height: u32,
    bottom: u32,
}

impl Frame {
    fn new<'a>(labels: impl Iterator<Item = &'a str> + Clone) -> Frame {
        // About 7 pixels a character of a 12-pixel sans-serif font.
        let longest = labels.clone().map(|l| l.chars().count() as u32).max().unwrap_or(0);
        let label_width = (longest * 7 + 16).max(120);
        let bottom = TOP + ROW * labels.count() as u32;
        Frame { label_width, width: label_width + PLOT_WIDTH + 90, height: bottom + 40, bottom }
    }

    fn open(&self, title: &str) -> String {
        let (w, h) = (self.width, self.height);
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n  <text x=\"10\" y=\"22\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
            escape(title)
        )
    }

    /// A grid line at `x` with its label under the plot.
    fn tick(&self, x: f64, label: &str) -> String {
        format!(
            "  <line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#ddd\"/>\n  <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{label}</text>\n",
            self.bottom,
            self.bottom + 16
        )
    }

    /// Row `i`: its label, a bar ending at `end`, and `value` after it.
    fn bar(&self, i: usize, label: &str, end: f64, value: &str) -> String {
        let y = TOP + ROW * i as u32;
        format!(
            "  <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n  <rect x=\"{}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"#4a7ab7\"/>\n  <text x=\"{:.1}\" y=\"{}\">{value}</text>\n",
            self.label_width - 8,
            y + 15,
            escape(label),
            self.label_width,
            y + 3,
            (end - self.label_width as f64).max(1.0),
            ROW - 6,
            end + 5.0,
            y + 15
        )
    }

    fn close(&self, unit: &str) -> String {
        format!(
            "  <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{}</text>\n</svg>\n",
            self.label_width + PLOT_WIDTH / 2,
            self.bottom + 34,
            escape(unit)
        )
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_row_and_longer_for_larger_values() {
        let rows = vec![Bar { label: "a".into(), value: 10 }, Bar { label: "b<c".into(), value: 10_000 }];
        let svg = bars("t", "insns", &rows);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("b&lt;c"));
        let widths: Vec<f64> = svg
            .lines()
            .filter(|l| l.contains("<rect"))
            .map(|l| l.split("width=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap())
            .collect();
        assert!(widths[1] > widths[0] * 3.0, "{widths:?}");
    }

    #[test]
    fn ratio_bars_are_linear_with_a_line_at_one() {
        let rows = vec![Ratio { label: "a".into(), value: 1.0 }, Ratio { label: "b".into(), value: 3.0 }];
        let svg = ratio_bars("t", "times native", "native", &rows);
        let widths: Vec<f64> = svg
            .lines()
            .filter(|l| l.contains("<rect"))
            .map(|l| l.split("width=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap())
            .collect();
        assert!((widths[1] / widths[0] - 3.0).abs() < 0.01, "{widths:?}");
        assert!(svg.contains(">3.00</text>") && svg.contains(">native</text>"), "{svg}");
        assert!(svg.contains("stroke=\"#c33\""));
    }
}
