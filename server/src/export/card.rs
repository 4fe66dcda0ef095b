//! The dataset card written beside `--split-files` output: a `README.md` in the Hugging
//! Face dataset card format (YAML front matter, then markdown), so the folder loads with
//! `datasets.load_dataset(folder)` and uploads with `huggingface-cli upload` as it is.
//! It holds no date, so the same data and command write the same card.

use std::fmt::Write as _;

use super::{ExportFormat, ExportSummary, Prepared, value_name};

/// Whether a licence id is safe to write into the card's YAML as is.
pub fn valid_license(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '+'))
}

/// The card for a prepared export and what it wrote; `command` is the command line that
/// made it, `license` a licence id (checked by [`valid_license`]), `extension` the data
/// files' (`jsonl` or `csv`).
pub fn dataset_card(
    prepared: &Prepared,
    summary: &ExportSummary,
    command: &str,
    license: &str,
    extension: &str,
) -> String {
    let project = &prepared.project;
    let options = &prepared.options;
    let format = value_name(options.format);
    // JSON strings are YAML strings, so names with any characters stay one scalar.
    let quoted = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let task = match options.format {
        ExportFormat::Sft | ExportFormat::PreferencePairs | ExportFormat::Stepwise => {
            "text-generation"
        }
        ExportFormat::Labels | ExportFormat::Benchmark => "text-classification",
    };
    let mut card = String::new();
    let _ = writeln!(card, "---");
    let _ = writeln!(card, "license: {license}");
    let _ = writeln!(
        card,
        "pretty_name: {}",
        quoted(&format!("{} ({format})", project.name))
    );
    let _ = writeln!(card, "task_categories:\n- {task}");
    let _ = writeln!(card, "tags:\n- relabel\n- search-relevance\n- {format}");
    let _ = writeln!(card, "configs:\n- config_name: default\n  data_files:");
    for split in ["train", "test"] {
        let _ = writeln!(
            card,
            "  - split: {split}\n    path: data/{split}.{extension}"
        );
    }
    let _ = writeln!(card, "---\n");
    let _ = writeln!(card, "# {}: {format} export\n", project.name);
    let _ = writeln!(
        card,
        "Labels of search relevance for e-commerce (query, item) pairs, made by people in \
         relabel's project `{}` on the scale {} and exported as `{format}` records \
         (relabel's docs/formats.md describes every field).\n",
        project.slug,
        project.scale_labels.join(", ")
    );
    let _ = writeln!(card, "Made by:\n\n```sh\n{command}\n```\n");
    let _ = writeln!(card, "## Filters\n");
    let style = match options.format {
        ExportFormat::Sft | ExportFormat::PreferencePairs => value_name(options.style()),
        _ => "none (one shape)".into(),
    };
    let none = |v: Option<String>| v.unwrap_or_else(|| "any".into());
    let _ = writeln!(card, "| filter | value |\n|---|---|");
    let _ = writeln!(card, "| style | {style} |");
    let _ = writeln!(
        card,
        "| guideline version | {} |",
        none(options.guideline_version.map(|v| v.to_string()))
    );
    let _ = writeln!(
        card,
        "| band | {} |",
        none(options.band.map(|b| b.as_str().to_owned()))
    );
    let _ = writeln!(
        card,
        "| capability | {} |",
        none(options.capability.clone())
    );
    let _ = writeln!(
        card,
        "| minimum agreement | {} |",
        none(options.min_agreement.map(|a| a.to_string()))
    );
    let _ = writeln!(
        card,
        "| split | test share {}, seed {}, by query |\n",
        options.test_share.unwrap_or_default(),
        options.seed
    );
    let _ = writeln!(card, "## Splits\n");
    let _ = writeln!(card, "| split | records | queries |\n|---|---|---|");
    let _ = writeln!(
        card,
        "| train | {} | {} |",
        summary.records - summary.test_records,
        summary.train_queries
    );
    let _ = writeln!(
        card,
        "| test | {} | {} |\n",
        summary.test_records, summary.test_queries
    );
    let _ = writeln!(
        card,
        "No query is in both splits, and each split has at least one.\n"
    );
    let _ = writeln!(card, "## Final labels\n");
    let _ = writeln!(card, "Pairs with records, by final label:\n");
    let _ = writeln!(card, "| label | pairs |\n|---|---|");
    for label in &project.scale_labels {
        let n = summary.final_labels.get(label).copied().unwrap_or_default();
        let _ = writeln!(card, "| {label} | {n} |");
    }
    let _ = writeln!(card, "\n## Agreement\n");
    match summary.mean_agreement {
        Some(a) => {
            let _ = writeln!(
                card,
                "Mean agreement of the pairs with records (the share of annotator pairs \
                 that gave the same label): {a:.3}.\n"
            );
        }
        None => {
            let _ = writeln!(card, "No pair with records has a label to agree on.\n");
        }
    }
    let _ = writeln!(card, "## Guideline\n");
    if summary.guideline_versions.is_empty() {
        let _ = writeln!(
            card,
            "The judgments behind the records name no guideline version.\n"
        );
    } else {
        let versions: Vec<String> = summary
            .guideline_versions
            .iter()
            .map(i64::to_string)
            .collect();
        let _ = writeln!(
            card,
            "Judgments made under guideline version(s) {}; each record's `meta` names its \
             own.\n",
            versions.join(", ")
        );
    }
    if !summary.left_out.is_empty() || !summary.records_left_out.is_empty() {
        let _ = writeln!(card, "## Left out\n");
        for (why, n) in &summary.left_out {
            let _ = writeln!(card, "- {n} pair(s): {why}");
        }
        for (why, n) in &summary.records_left_out {
            let _ = writeln!(card, "- {n} record(s): {why}");
        }
        card.push('\n');
    }
    if matches!(
        options.format,
        ExportFormat::Sft | ExportFormat::PreferencePairs
    ) {
        let _ = writeln!(card, "## Template\n");
        let _ = writeln!(
            card,
            "Conversational records are message lists (`system`, `user`, `assistant`) for \
             the model's own chat template (`tokenizer.apply_chat_template`, as TRL \
             applies it). Standard records are plain strings whose prompt ends with \
             \"\\n\\nAnswer:\\n\", so prompt and completion can be joined as they are."
        );
    }
    card
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_licence_ids_are_written_into_the_yaml() {
        assert!(valid_license("cc-by-4.0"));
        assert!(valid_license("other"));
        assert!(!valid_license(""));
        assert!(!valid_license("mit\nlicense: x"));
        assert!(!valid_license("a: b"));
    }
}
