//! Charts for the book, drawn as SVG from committed data, never from a new
//! measurement: the tests redraw them and compare.
//!
//! [`bars`] draws a horizontal bar chart on a logarithmic scale (the
//! figures span several orders of magnitude) from `(label, value)` rows.

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
    // About 7 pixels a character of a 12-pixel sans-serif font.
    let longest = rows.iter().map(|b| b.label.chars().count() as u32).max().unwrap_or(0);
    let label_width = (longest * 7 + 16).max(120);
    let height = TOP + ROW * rows.len() as u32 + 40;
    let width = label_width + PLOT_WIDTH + 90;
    let max = rows.iter().map(|b| b.value).max().unwrap_or(1).max(10);
    let decades = (max as f64).log10().ceil().max(1.0);
    let x_of = |v: u64| label_width as f64 + PLOT_WIDTH as f64 * ((v.max(1) as f64).log10() / decades);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    );
    svg += &format!("  <text x=\"10\" y=\"22\" font-size=\"14\" font-weight=\"bold\">{}</text>\n", escape(title));
    let bottom = TOP + ROW * rows.len() as u32;
    for d in 0..=decades as u32 {
        let x = x_of(10u64.pow(d));
        svg += &format!("  <line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{bottom}\" stroke=\"#ddd\"/>\n");
        svg += &format!("  <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">10^{d}</text>\n", bottom + 16);
    }
    for (i, bar) in rows.iter().enumerate() {
        let y = TOP + ROW * i as u32;
        let end = x_of(bar.value);
        svg += &format!(
            "  <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
            label_width - 8,
            y + 15,
            escape(&bar.label)
        );
        svg += &format!(
            "  <rect x=\"{label_width}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"#4a7ab7\"/>\n",
            y + 3,
            (end - label_width as f64).max(1.0),
            ROW - 6
        );
        svg += &format!("  <text x=\"{:.1}\" y=\"{}\">{}</text>\n", end + 5.0, y + 15, bar.value);
    }
    svg += &format!(
        "  <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{} (log scale)</text>\n",
        label_width + PLOT_WIDTH / 2,
        bottom + 34,
        escape(unit)
    );
    svg += "</svg>\n";
    svg
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
}
