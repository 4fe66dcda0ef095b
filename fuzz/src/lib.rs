//! What the fuzz targets share: a project on the LORE scale, and the import reader run
//! as an import runs it (the file whole, every bad line named).

use relabel_core::domain::{Project, ScalePreset, StrategyKind, TaskKind};
use relabel_formats::import::{ImportFormat, ReadError, ReadOptions};

/// A judge-and-rank project on the 4-level LORE scale, k = 3.
pub fn project() -> Project {
    Project {
        id: 1,
        slug: "fuzz".into(),
        name: "fuzz".into(),
        scale: ScalePreset::Lore4,
        scale_labels: ScalePreset::Lore4
            .labels()
            .iter()
            .map(|l| (*l).to_owned())
            .collect(),
        overlap_k: 3,
        task: TaskKind::JudgeAndRank,
        gold_rate: 0.0,
        lease_seconds: 600,
        reveal_models: false,
        retrain_every: 0,
        scorer_strategy: StrategyKind::Random,
        gold_window: 20,
        gold_min_accuracy: 0.7,
        pause_flagged: false,
        review_alpha: 0.667,
    }
}

/// Reads `data` as an import file of `format`. Whatever the bytes, the reader must
/// answer records or line-located errors; a panic is a bug.
pub fn read(format: ImportFormat, data: &[u8]) {
    let project = project();
    let result = relabel_formats::import::read_all(
        "fuzz",
        &project,
        format,
        data,
        ReadOptions::default(),
    );
    match result {
        Ok(records) => {
            // What was accepted is on the scale.
            for r in &records {
                if let Some(label) = &r.gold_label {
                    assert!(project.scale_labels.contains(label), "gold {label:?}");
                }
            }
        }
        Err(ReadError::Rejected { errors, .. }) => {
            assert!(!errors.is_empty(), "a rejection names its lines");
            assert!(errors.iter().all(|e| e.line >= 1), "lines count from 1");
        }
        Err(ReadError::Io { source, .. }) => panic!("reading memory failed: {source}"),
    }
}
