//! The head's input for one (query, item) pair: both embeddings, their element-wise
//! product and absolute difference (the interactions a bi-encoder alone cannot see), and
//! a few exact-match signals a shopper notices at once: the brand named in the query,
//! a model number found in the query, attribute values the query asks for, and plain
//! word overlap.

/// How many exact-match signals [`exact_match`] gives.
pub const EXACT_FEATURES: usize = 4;

/// The width of [`pair_features`] for embeddings of width `dim`.
pub fn width(dim: usize) -> usize {
    4 * dim + EXACT_FEATURES
}

/// Lower-case words of letters and digits.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether every word of `phrase` is among `query`'s words (false for an empty phrase).
fn contains_phrase(query: &[String], phrase: &str) -> bool {
    let phrase = words(phrase);
    !phrase.is_empty() && phrase.iter().all(|w| query.contains(w))
}

/// The exact-match signals, each in [0, 1]:
/// 1. the item's brand attribute appears in the query (0.5 when the item has no brand);
/// 2. a word of the title that mixes letters and digits (a model number) is in the query;
/// 3. the share of the item's attribute values that the query names;
/// 4. the share of the query's words found in the title.
pub fn exact_match(
    query: &str,
    title: &str,
    attributes: &[(String, String)],
) -> [f32; EXACT_FEATURES] {
    let q = words(query);
    let title_words = words(title);
    let brand = attributes
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("brand"))
        .map_or(0.5, |(_, v)| f32::from(u8::from(contains_phrase(&q, v))));
    let model_number = title_words
        .iter()
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()) && w.chars().any(char::is_alphabetic))
        .any(|w| q.contains(w));
    let named = attributes
        .iter()
        .filter(|(_, v)| contains_phrase(&q, v))
        .count();
    let attribute_share = if attributes.is_empty() {
        0.0
    } else {
        named as f32 / attributes.len() as f32
    };
    let overlap = if q.is_empty() {
        0.0
    } else {
        q.iter().filter(|w| title_words.contains(w)).count() as f32 / q.len() as f32
    };
    [
        brand,
        f32::from(u8::from(model_number)),
        attribute_share,
        overlap,
    ]
}

/// One row of the head's input: `[q, d, q*d, |q-d|, exact...]`.
pub fn pair_features(query: &[f32], item: &[f32], exact: &[f32; EXACT_FEATURES]) -> Vec<f32> {
    let mut row = Vec::with_capacity(width(query.len()));
    row.extend_from_slice(query);
    row.extend_from_slice(item);
    row.extend(query.iter().zip(item).map(|(a, b)| a * b));
    row.extend(query.iter().zip(item).map(|(a, b)| (a - b).abs()));
    row.extend_from_slice(exact);
    row
}

/// The text an item is embedded from: its title, category path and key attributes.
pub fn item_text(title: &str, category: &[String], attributes: &[(String, String)]) -> String {
    let mut text = title.to_owned();
    if !category.is_empty() {
        text.push_str(" | ");
        text.push_str(&category.join(" > "));
    }
    for (k, v) in attributes {
        text.push_str(&format!(" | {k}: {v}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn brand_model_number_attributes_and_overlap_are_found_in_the_query() {
        let a = attrs(&[("brand", "Acme Co"), ("color", "Red")]);
        let f = exact_match("acme co red XR-200 shoes", "Acme XR 200 running shoes", &a);
        assert_eq!(f[0], 1.0, "brand named");
        assert_eq!(
            f[1], 0.0,
            "XR-200 splits into xr and 200, neither mixes letters and digits"
        );
        assert_eq!(f[2], 1.0, "both attribute values named");
        assert!((f[3] - 4.0 / 6.0).abs() < 1e-6, "{f:?}");
        let f = exact_match("nike a520 shoe", "Acme A520 runner", &a);
        assert_eq!(f[..3], [0.0, 1.0, 0.0]);
        let f = exact_match("", "anything", &[]);
        assert_eq!(f, [0.5, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn a_row_holds_both_embeddings_and_their_interactions() {
        let row = pair_features(&[1.0, -2.0], &[3.0, 1.0], &[0.0, 1.0, 0.5, 0.25]);
        assert_eq!(
            row,
            [
                1.0, -2.0, 3.0, 1.0, 3.0, -2.0, 2.0, 3.0, 0.0, 1.0, 0.5, 0.25
            ]
        );
        assert_eq!(row.len(), width(2));
    }

    #[test]
    fn item_text_joins_title_category_and_attributes() {
        let text = item_text(
            "Shoe",
            &["Sports".into(), "Running".into()],
            &attrs(&[("brand", "Acme")]),
        );
        assert_eq!(text, "Shoe | Sports > Running | brand: Acme");
    }
}
