//! The encoder against embeddings computed independently by PyTorch sentence-transformers
//! on the same weights (models/tests/reference.py wrote reference.json).

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

use std::path::PathBuf;

use candle_core::Device;
use relabel_models::encoder::{self, Encoder, cosine};

fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RELABEL_MODEL_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("weights/all-MiniLM-L6-v2"),
        PathBuf::from,
    );
    match encoder::missing_weights(&dir) {
        None => Some(dir),
        Some(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must test the encoder: {why}"
            );
            eprintln!("skipped: {why}");
            None
        }
    }
}

#[test]
fn embeddings_match_sentence_transformers() {
    let Some(dir) = model_dir() else { return };
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("reference.json")).unwrap();
    let texts: Vec<&str> = reference["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let encoder = Encoder::load(&dir, &Device::Cpu).unwrap();
    assert!(
        encoder.is_reference_model(),
        "weights differ from the tested all-MiniLM-L6-v2"
    );

    // All texts in one batch: the short ones are padded to the longest (231 tokens), so
    // a pooling that counted padding, or a cut at the tokenizer file's 128, shows here.
    let vectors = encoder.embed(&texts).unwrap();
    for pair in reference["pairs"].as_array().unwrap() {
        let (a, b) = (
            pair["a"].as_u64().unwrap() as usize,
            pair["b"].as_u64().unwrap() as usize,
        );
        let want = pair["cosine"].as_f64().unwrap() as f32;
        let got = cosine(&vectors[a], &vectors[b]);
        assert!(
            (got - want).abs() < 1e-4,
            "cosine({a}, {b}) = {got}, sentence-transformers {want}"
        );
    }
    for (i, head) in reference["head"].as_array().unwrap().iter().enumerate() {
        for (j, want) in head.as_array().unwrap().iter().enumerate() {
            let want = want.as_f64().unwrap() as f32;
            assert!(
                (vectors[i][j] - want).abs() < 1e-4,
                "text {i} value {j}: {} vs {want}",
                vectors[i][j]
            );
        }
        let norm: f32 = vectors[i].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }

    // Alone or in a batch, a text gets the same vector.
    let alone = encoder.embed(&texts[..1]).unwrap();
    assert!(cosine(&alone[0], &vectors[0]) > 1.0 - 1e-5);
}

#[test]
fn a_missing_model_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = Encoder::load(dir.path(), &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("scorer is off") && err.contains("scripts/dev setup"),
        "{err}"
    );
    assert!(err.contains("model.safetensors"), "{err}");
}

#[test]
fn batches_sorted_by_length_keep_the_callers_order() {
    let Some(dir) = model_dir() else { return };
    let encoder = Encoder::load(&dir, &Device::Cpu).unwrap();
    let texts = [
        "a much longer text about trail running shoes in red",
        "shoe",
        "red shoe",
    ];
    let one_by_one: Vec<Vec<f32>> = texts
        .iter()
        .map(|t| encoder.embed(&[t]).unwrap().remove(0))
        .collect();
    let mut seen = Vec::new();
    let batched = encoder
        .embed_all(&texts, 2, |done| seen.push(done))
        .unwrap();
    assert_eq!(seen, [2, 3]);
    for (a, b) in one_by_one.iter().zip(&batched) {
        assert!(cosine(a, b) > 1.0 - 1e-5);
    }
}
