//! Numbers as people read them, the same in a page's table and in a CSV download.

/// A number as tables and CSV files show it: integers without a fraction, others to 3
/// places.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn integers_drop_the_fraction_and_others_keep_three_places() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(0.5), "0.500");
        assert_eq!(number(2.0 / 3.0), "0.667");
    }
}
