//! The head's input for one (query, item) pair: both embeddings, their element-wise
//! product and absolute difference (the interactions a bi-encoder alone cannot see), and
//! exact-match signals a shopper notices at once: the brand named in the query, a model
//! number found in the query, attribute values the query asks for, plain word overlap,
//! and conflicts: the query names another value of an attribute the item has (another
//! brand, colour or size the catalog knows) or a category the item is not in.

use std::collections::{BTreeMap, BTreeSet};

/// How many exact-match signals [`exact_match`] gives.
pub const EXACT_FEATURES: usize = 7;

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
fn contains_words(query: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && phrase.iter().all(|w| query.contains(w))
}

fn contains_phrase(query: &[String], phrase: &str) -> bool {
    contains_words(query, &words(phrase))
}

/// What the catalog knows: every value seen per attribute, and every category word.
/// Built from a project's items, it lets a query's words be recognised as another
/// brand, colour or category than the item's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vocabulary {
    values: BTreeMap<String, BTreeSet<Vec<String>>>,
    category_words: BTreeSet<String>,
}

impl Vocabulary {
    /// Learns an item's category path and attribute values.
    pub fn add(&mut self, category: &[String], attributes: &[(String, String)]) {
        for (k, v) in attributes {
            let value = words(v);
            if !value.is_empty() {
                self.values
                    .entry(k.to_lowercase())
                    .or_default()
                    .insert(value);
            }
        }
        for c in category {
            self.category_words.extend(words(c));
        }
    }

    /// The conflict signals: the share of the item's attributes for which the query
    /// names another known value, whether there is any, and whether the query names a
    /// category word the item's path lacks.
    fn conflicts(
        &self,
        query: &[String],
        category: &[String],
        attributes: &[(String, String)],
    ) -> [f32; 3] {
        let conflicting = attributes
            .iter()
            .filter(|(k, v)| {
                let mine = words(v);
                self.values.get(&k.to_lowercase()).is_some_and(|known| {
                    known.iter().any(|other| {
                        *other != mine
                            && contains_words(query, other)
                            && !contains_words(&mine, other)
                    })
                })
            })
            .count();
        let path: Vec<String> = category.iter().flat_map(|c| words(c)).collect();
        let other_category = query
            .iter()
            .any(|w| self.category_words.contains(w) && !path.contains(w));
        let share = if attributes.is_empty() {
            0.0
        } else {
            conflicting as f32 / attributes.len() as f32
        };
        [
            share,
            f32::from(u8::from(conflicting > 0)),
            f32::from(u8::from(other_category)),
        ]
    }
}

/// The exact-match signals, each in [0, 1]:
/// 1. the item's brand attribute appears in the query (0.5 when the item has no brand);
/// 2. a word of the title that mixes letters and digits (a model number) is in the query;
/// 3. the share of the item's attribute values that the query names;
/// 4. the share of the query's words found in the title;
/// 5. the share of the item's attributes for which the query names another known value;
/// 6. whether any attribute conflicts so;
/// 7. whether the query names a category word that the item's category path lacks.
pub fn exact_match(
    vocabulary: &Vocabulary,
    query: &str,
    title: &str,
    category: &[String],
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
    let [conflict_share, any_conflict, other_category] =
        vocabulary.conflicts(&q, category, attributes);
    [
        brand,
        f32::from(u8::from(model_number)),
        attribute_share,
        overlap,
        conflict_share,
        any_conflict,
        other_category,
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
        let none = Vocabulary::default();
        let f = exact_match(
            &none,
            "acme co red XR-200 shoes",
            "Acme XR 200 running shoes",
            &[],
            &a,
        );
        assert_eq!(f[0], 1.0, "brand named");
        assert_eq!(
            f[1], 0.0,
            "XR-200 splits into xr and 200, neither mixes letters and digits"
        );
        assert_eq!(f[2], 1.0, "both attribute values named");
        assert!((f[3] - 4.0 / 6.0).abs() < 1e-6, "{f:?}");
        let f = exact_match(&none, "nike a520 shoe", "Acme A520 runner", &[], &a);
        assert_eq!(f[..3], [0.0, 1.0, 0.0]);
        let f = exact_match(&none, "", "anything", &[], &[]);
        assert_eq!(f, [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn the_vocabulary_recognises_another_brand_colour_or_category() {
        let mut vocabulary = Vocabulary::default();
        let shoes = ["Shoes".to_owned(), "Running".to_owned()];
        let audio = ["Electronics".to_owned(), "Audio".to_owned()];
        vocabulary.add(
            &shoes,
            &attrs(&[("brand", "Acme"), ("colour", "light blue")]),
        );
        vocabulary.add(&shoes, &attrs(&[("brand", "Nike"), ("colour", "red")]));
        vocabulary.add(&audio, &attrs(&[("brand", "Sony"), ("colour", "black")]));
        let item = attrs(&[("brand", "Acme"), ("colour", "light blue")]);
        let f = exact_match(
            &vocabulary,
            "nike red running shoes",
            "Acme Runner",
            &shoes,
            &item,
        );
        assert_eq!(f[4..], [1.0, 1.0, 0.0], "another brand and another colour");
        let f = exact_match(
            &vocabulary,
            "acme blue running shoes",
            "Acme Runner",
            &shoes,
            &item,
        );
        assert_eq!(
            f[4..],
            [0.0, 0.0, 0.0],
            "'blue' is part of the item's own colour"
        );
        let f = exact_match(&vocabulary, "acme audio", "Acme Runner", &shoes, &item);
        assert_eq!(
            f[4..],
            [0.0, 0.0, 1.0],
            "audio is a category the item is not in"
        );
    }

    #[test]
    fn a_row_holds_both_embeddings_and_their_interactions() {
        let exact = [0.0, 1.0, 0.5, 0.25, 0.0, 0.0, 1.0];
        let row = pair_features(&[1.0, -2.0], &[3.0, 1.0], &exact);
        let expected = [
            1.0, -2.0, 3.0, 1.0, 3.0, -2.0, 2.0, 3.0, 0.0, 1.0, 0.5, 0.25, 0.0, 0.0, 1.0,
        ];
        assert_eq!(row, expected);
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
