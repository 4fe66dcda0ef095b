//! How a CoT candidate reads as an answer, written once for the exports, the import's
//! warning and the ranking screen, so all three agree on which candidates are "the same
//! text": its steps (or its whole text, when it was imported with text alone), one per
//! line, then `Label: ` and the label it reached.

/// A candidate's reasoning as steps: its steps, or its whole text as one step when it
/// was imported with text alone.
pub fn steps_of(steps: &[String], text: &str) -> Vec<String> {
    if steps.is_empty() && !text.trim().is_empty() {
        vec![text.trim().to_owned()]
    } else {
        steps.to_vec()
    }
}

/// An answer as exports write it: the steps, one per line, then the label.
pub fn answer(steps: &[String], label: &str) -> String {
    let mut text = steps.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str("Label: ");
    text.push_str(label);
    text
}

/// A candidate's own answer: its steps ([`steps_of`]) and the label it reached (`none`
/// when it reached none).
pub fn candidate_answer(steps: &[String], text: &str, label: Option<&str>) -> String {
    answer(&steps_of(steps, text), label.unwrap_or("none"))
}

/// Whether two answers are the same text once whitespace runs are read as one space
/// (what the prompt template and a tokenizer make of them alike).
pub fn same_text(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// For each answer, the first earlier one that is the same text, if any.
pub fn first_same(answers: &[String]) -> Vec<Option<usize>> {
    (0..answers.len())
        .map(|j| (0..j).find(|&i| same_text(&answers[i], &answers[j])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_its_steps_then_its_label() {
        assert_eq!(answer(&["a".into(), "b".into()], "L3"), "a\nb\nLabel: L3");
        assert_eq!(answer(&[], "L1"), "Label: L1");
        assert_eq!(
            candidate_answer(&[], " all of it ", None),
            "all of it\nLabel: none"
        );
        assert_eq!(steps_of(&["one".into()], "ignored"), ["one"]);
    }

    #[test]
    fn the_same_text_ignores_spacing_but_not_the_label() {
        assert!(same_text("a  b\nLabel: L3", "a b Label: L3"));
        assert!(!same_text("a b\nLabel: L3", "a b\nLabel: L4"));
        let answers = [
            "a\nLabel: L4",
            "b\nLabel: L4",
            "a \nLabel: L4",
            "a\nLabel: L2",
        ]
        .map(String::from);
        assert_eq!(first_same(&answers), [None, None, Some(0), None]);
    }
}
