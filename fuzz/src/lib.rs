//! What the fuzz targets share: a project on the LORE scale, and one runtime to run the
//! import reader on (it parses on a blocking thread, as a real import does).

use std::sync::LazyLock;

use relabel::domain::{Project, ScalePreset};
use relabel::import::{ImportError, ImportFormat, ImportOptions};

/// A judge-and-rank project on the 4-level LORE scale, k = 3.
pub fn project() -> Project {
    Project {
        id: 1,
        slug: "fuzz".into(),
        name: "fuzz".into(),
        scale: ScalePreset::Lore4.name().into(),
        scale_labels: ScalePreset::Lore4
            .labels()
            .iter()
            .map(|l| (*l).to_owned())
            .collect(),
        overlap_k: 3,
        task: "judge+rank".into(),
        gold_rate: 0.0,
        lease_seconds: 600,
        reveal_models: false,
        retrain_every: 0,
        scorer_strategy: "random".into(),
        gold_window: 20,
        gold_min_accuracy: 0.7,
        pause_flagged: false,
        review_alpha: 0.667,
    }
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
});

/// Reads `data` as an import file of `format`. Whatever the bytes, the reader must
/// answer records or line-located errors; a panic is a bug.
pub fn read(format: ImportFormat, data: &[u8]) {
    let project = project();
    let result = RUNTIME.block_on(relabel::import::read_bytes(
        &project,
        "fuzz",
        format,
        bytes::Bytes::copy_from_slice(data),
        &ImportOptions::default(),
    ));
    match result {
        Ok(records) => {
            // What was accepted is on the scale.
            for r in &records {
                if let Some(label) = &r.gold_label {
                    assert!(project.scale_labels.contains(label), "gold {label:?}");
                }
            }
        }
        Err(ImportError::Rejected { errors, .. }) => {
            assert!(!errors.is_empty(), "a rejection names its lines");
            assert!(errors.iter().all(|e| e.line >= 1), "lines count from 1");
        }
        Err(ImportError::Io { source, .. }) => panic!("reading memory failed: {source}"),
        Err(other) => panic!("unexpected: {other}"),
    }
}
