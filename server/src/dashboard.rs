//! The quality dashboard's numbers: final labels by band and by
//! capability, judgments per day, agreement over time, the annotator leaderboard, queue
//! depth and the confusion of human final labels with the model CoTs' majority. Each
//! chart is a table ([`ChartView`]) that the page draws as SVG, shows as a table and
//! offers as CSV; `relabel stats --json` prints the same tables.

use std::collections::{BTreeMap, HashMap};

use relabel_core::types::{ChartKind, ChartRow, ChartView, DashboardView};

use crate::domain::{FrequencyBand, Project};
use crate::export::final_label::final_label;
use crate::quality::{self, AnnotatorGold, ReviewRows, utc_day};
use crate::storage::rows::{BandDepth, LoggedJudgment};
use crate::storage::{Store, StoreError};

/// Days the time charts cover, ending at the newest judgment.
pub const DAYS: usize = 30;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Everything the dashboard is computed from, read once.
#[derive(Debug, Clone, Default)]
pub struct DashboardRows {
    /// Judgments, the review queue's inputs.
    pub review: ReviewRows,
    /// Every judgment, revisions included.
    pub log: Vec<LoggedJudgment>,
    /// `(pair, band)` of judged or decided pairs.
    pub bands: Vec<(i64, String)>,
    /// `(pair, tag)` of judged or decided pairs.
    pub tags: Vec<(i64, String)>,
    /// How far each band is.
    pub depth: Vec<BandDepth>,
    /// Gold accuracy per annotator.
    pub gold: Vec<AnnotatorGold>,
}

/// Reads what the dashboard needs.
pub async fn read(store: &dyn Store, project: &Project) -> Result<DashboardRows, StoreError> {
    let (bands, tags) = store.pair_facets(project).await?;
    Ok(DashboardRows {
        review: store.review_rows(project).await?,
        log: store.judgment_log(project).await?,
        bands,
        tags,
        depth: store.queue_depth(project).await?,
        gold: quality::gold_report(store, project).await?,
    })
}

/// Reads and computes the dashboard.
pub async fn dashboard(store: &dyn Store, project: &Project) -> Result<DashboardView, StoreError> {
    Ok(compute(project, &read(store, project).await?))
}

fn count(n: usize) -> Option<f64> {
    Some(n as f64)
}

/// The dashboard from its rows.
pub fn compute(project: &Project, rows: &DashboardRows) -> DashboardView {
    let scale = &project.scale_labels;
    let level = |label: &str| scale.iter().position(|l| l == label);
    let units = quality::current_levels(project, &rows.review);
    let decided: HashMap<i64, usize> = rows
        .review
        .decided
        .iter()
        .filter_map(|(pair, _, label)| level(label).map(|l| (*pair, l)))
        .collect();
    let k = usize::try_from(project.overlap_k).unwrap_or(1);
    // Final labels, by the export's rule.
    let mut finals: BTreeMap<i64, usize> = BTreeMap::new();
    let no_levels = Vec::new();
    for pair in units.keys().chain(decided.keys()) {
        let levels = units.get(pair).unwrap_or(&no_levels);
        if let Ok(f) = final_label(scale, levels, decided.get(pair).copied(), k) {
            finals.insert(*pair, f.level);
        }
    }
    let band_of: HashMap<i64, &str> = rows.bands.iter().map(|(p, b)| (*p, b.as_str())).collect();
    let review = quality::review_items(project, &rows.review);

    let mut charts = vec![
        labels_by_band(scale, &finals, &band_of),
        labels_by_capability(scale, &finals, &rows.tags),
        judgments_per_day(&rows.log),
        alpha_over_time(project, &rows.review),
        leaderboard(&rows.log, &rows.gold),
        queue_depth(&rows.depth, &review, &band_of),
    ];
    charts.push(confusion(scale, &finals, &rows.review));
    DashboardView {
        alpha: quality::alpha_of(&units),
        review_queue: review.len() as i64,
        flagged: rows
            .gold
            .iter()
            .filter(|g| g.flagged)
            .map(|g| g.user.clone())
            .collect(),
        charts,
    }
}

fn chart(
    id: &str,
    title: &str,
    row_label: &str,
    kind: ChartKind,
    series: Vec<String>,
    rows: Vec<ChartRow>,
) -> ChartView {
    ChartView {
        id: id.to_owned(),
        title: title.to_owned(),
        row_label: row_label.to_owned(),
        kind,
        series,
        rows,
    }
}

fn labels_by_band(
    scale: &[String],
    finals: &BTreeMap<i64, usize>,
    band_of: &HashMap<i64, &str>,
) -> ChartView {
    let mut counts: BTreeMap<&str, Vec<usize>> = FrequencyBand::ALL
        .iter()
        .map(|b| (b.as_str(), vec![0; scale.len()]))
        .collect();
    for (pair, level) in finals {
        if let Some(row) = band_of.get(pair).and_then(|b| counts.get_mut(b)) {
            row[*level] += 1;
        }
    }
    let rows = FrequencyBand::ALL
        .iter()
        .map(|b| ChartRow {
            label: b.as_str().to_owned(),
            values: counts[b.as_str()].iter().map(|&n| count(n)).collect(),
        })
        .collect();
    chart(
        "labels-by-band",
        "Final labels by traffic band",
        "band",
        ChartKind::StackedBars,
        scale.to_vec(),
        rows,
    )
}

fn labels_by_capability(
    scale: &[String],
    finals: &BTreeMap<i64, usize>,
    tags: &[(i64, String)],
) -> ChartView {
    let mut counts: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (pair, tag) in tags {
        if let Some(level) = finals.get(pair) {
            counts
                .entry(tag.as_str())
                .or_insert_with(|| vec![0; scale.len()])[*level] += 1;
        }
    }
    let rows = counts
        .into_iter()
        .map(|(tag, row)| ChartRow {
            label: tag.to_owned(),
            values: row.into_iter().map(count).collect(),
        })
        .collect();
    chart(
        "labels-by-capability",
        "Final labels by capability",
        "capability",
        ChartKind::StackedBars,
        scale.to_vec(),
        rows,
    )
}

/// The last [`DAYS`] days up to the newest time in `times`, oldest first, as
/// `(day, end of day in epoch ms)`.
fn recent_days(newest: Option<i64>) -> Vec<(String, i64)> {
    let Some(newest) = newest else {
        return Vec::new();
    };
    let last_start = newest.div_euclid(DAY_MS) * DAY_MS;
    (0..DAYS as i64)
        .rev()
        .map(|back| {
            let start = last_start - back * DAY_MS;
            (utc_day(start), start + DAY_MS - 1)
        })
        .collect()
}

fn judgments_per_day(log: &[LoggedJudgment]) -> ChartView {
    let days = recent_days(log.iter().map(|r| r.at).max());
    let mut per_day: HashMap<String, usize> = HashMap::new();
    for judgment in log {
        *per_day.entry(utc_day(judgment.at)).or_default() += 1;
    }
    let rows = days
        .into_iter()
        .map(|(day, _)| ChartRow {
            values: vec![count(per_day.get(&day).copied().unwrap_or(0))],
            label: day,
        })
        .collect();
    chart(
        "judgments-per-day",
        "Judgments per day (last 30 days)",
        "day",
        ChartKind::Bars,
        vec!["judgments".into()],
        rows,
    )
}

fn alpha_over_time(project: &Project, review: &ReviewRows) -> ChartView {
    let days = recent_days(review.judgments.iter().map(|j| j.3).max());
    let rows = days
        .into_iter()
        .map(|(day, end)| ChartRow {
            label: day,
            values: vec![quality::alpha_of(&quality::current_levels_until(
                project, review, end,
            ))],
        })
        .collect();
    chart(
        "alpha-over-time",
        "Agreement over time: Krippendorff's alpha (ordinal) of all labels up to each day",
        "day",
        ChartKind::Line,
        vec!["alpha".into()],
        rows,
    )
}

fn median(mut values: Vec<i64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2] as f64
    } else {
        (values[n / 2 - 1] + values[n / 2]) as f64 / 2.0
    })
}

fn leaderboard(log: &[LoggedJudgment], gold: &[AnnotatorGold]) -> ChartView {
    let mut people: BTreeMap<i64, (String, usize, Vec<i64>)> = BTreeMap::new();
    for judgment in log {
        let entry = people
            .entry(judgment.user_id)
            .or_insert_with(|| (judgment.name.clone(), 0, Vec::new()));
        if judgment.revision == 1 {
            entry.1 += 1;
            if let Some(ms) = judgment.duration_ms {
                entry.2.push(ms);
            }
        }
    }
    let gold_of: HashMap<i64, &AnnotatorGold> = gold.iter().map(|g| (g.user_id, g)).collect();
    let percent = |r: Option<f64>| r.map(|r| (r * 1000.0).round() / 10.0);
    let mut rows: Vec<ChartRow> = people
        .into_iter()
        .map(|(user, (name, judged, spent))| {
            let g = gold_of.get(&user);
            ChartRow {
                label: name,
                values: vec![
                    percent(g.and_then(|g| g.overall.exact_rate())),
                    percent(g.and_then(|g| g.overall.within_one_rate())),
                    count(g.map_or(0, |g| g.overall.answered as usize)),
                    count(judged),
                    median(spent).map(|ms| (ms / 100.0).round() / 10.0),
                    Some(if g.is_some_and(|g| g.flagged) {
                        1.0
                    } else {
                        0.0
                    }),
                ],
            }
        })
        .collect();
    // Best gold accuracy first; those without gold answers last, by name.
    rows.sort_by(|a, b| {
        let key = |r: &ChartRow| r.values[0].unwrap_or(-1.0);
        key(b).total_cmp(&key(a)).then(a.label.cmp(&b.label))
    });
    chart(
        "leaderboard",
        "Annotators: gold accuracy and speed",
        "annotator",
        ChartKind::Bars,
        [
            "gold exact %",
            "gold within one %",
            "gold answers",
            "judgments",
            "median seconds per judgment",
            "flagged",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    )
}

fn queue_depth(
    depth: &[BandDepth],
    review: &[quality::ReviewItem],
    band_of: &HashMap<i64, &str>,
) -> ChartView {
    let mut in_review: HashMap<&str, usize> = HashMap::new();
    for item in review {
        if let Some(band) = band_of.get(&item.pair_id) {
            *in_review.entry(band).or_default() += 1;
        }
    }
    let found: HashMap<FrequencyBand, (i64, i64)> = depth
        .iter()
        .map(|d| (d.band, (d.complete, d.pairs)))
        .collect();
    let rows = FrequencyBand::ALL
        .iter()
        .map(|b| {
            let (complete, all) = found.get(b).copied().unwrap_or((0, 0));
            ChartRow {
                label: b.as_str().to_owned(),
                values: vec![
                    Some((all - complete) as f64),
                    count(in_review.get(b.as_str()).copied().unwrap_or(0)),
                    Some(complete as f64),
                ],
            }
        })
        .collect();
    chart(
        "queue-depth",
        "Queue depth: pairs still wanting judgments, in review, and complete",
        "band",
        ChartKind::StackedBars,
        ["open", "in review", "complete"].map(String::from).to_vec(),
        rows,
    )
}

fn confusion(scale: &[String], finals: &BTreeMap<i64, usize>, review: &ReviewRows) -> ChartView {
    let mut model: HashMap<i64, Vec<usize>> = HashMap::new();
    for (pair, label) in &review.model_labels {
        if let Some(l) = scale.iter().position(|s| s == label) {
            model.entry(*pair).or_default().push(l);
        }
    }
    // Rows: the human final label; columns: the model's majority, then "no majority".
    let mut grid = vec![vec![0usize; scale.len() + 1]; scale.len()];
    for (pair, human) in finals {
        let Some(levels) = model.get(pair) else {
            continue;
        };
        let column = quality::majority(levels.iter().copied()).unwrap_or(scale.len());
        grid[*human][column] += 1;
    }
    let mut series: Vec<String> = scale.iter().map(|l| format!("model {l}")).collect();
    series.push("model split".into());
    let rows = scale
        .iter()
        .zip(grid)
        .map(|(label, row)| ChartRow {
            label: format!("human {label}"),
            values: row.into_iter().map(count).collect(),
        })
        .collect();
    chart(
        "confusion",
        "Human final label against the model CoTs' majority",
        "human final label",
        ChartKind::Heatmap,
        series,
        rows,
    )
}

/// A chart's table as CSV: the row label column, then one column per series. Cells that
/// come from user data are made safe for spreadsheets.
pub fn to_csv(chart: &ChartView) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header = vec![chart.row_label.clone()];
    header.extend(chart.series.iter().cloned());
    out.write_record(&header)?;
    for row in &chart.rows {
        let mut record = vec![crate::export::csv_safe(&row.label)];
        record.extend(
            row.values
                .iter()
                .map(|v| v.map_or_else(String::new, relabel_core::format::number)),
        );
        out.write_record(&record)?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_counts_final_labels_days_and_confusions() {
        let project = crate::queue::tests::project();
        let day = DAY_MS;
        let j = |p: i64, u: i64, l: &str, at: i64| (p, u, l.to_owned(), at);
        let review = ReviewRows {
            // Pair 1: L4 x3 (final L4); pair 2: L1, L3 (split, decided L2); pair 3: L3 x3.
            judgments: vec![
                j(1, 1, "L4", 10),
                j(1, 2, "L4", 11),
                j(1, 3, "L4", 12),
                j(2, 1, "L1", day + 10),
                j(2, 2, "L3", day + 11),
                j(3, 1, "L3", day + 12),
                j(3, 2, "L3", day + 13),
                j(3, 3, "L3", day + 14),
            ],
            model_labels: vec![
                (1, "L4".into()),
                (1, "L4".into()),
                (3, "L1".into()),
                (3, "L2".into()),
            ],
            decided: vec![(2, day + 20, "L2".into())],
            complete: vec![1, 3],
            rereviews: Vec::new(),
        };
        let log = review
            .judgments
            .iter()
            .map(|(_, u, _, at)| LoggedJudgment {
                user_id: *u,
                name: format!("u{u}"),
                at: *at,
                duration_ms: Some(2_000 * u),
                revision: 1,
            })
            .collect();
        let rows = DashboardRows {
            review,
            log,
            bands: vec![(1, "head".into()), (2, "tail".into()), (3, "tail".into())],
            tags: vec![(1, "multimodal".into()), (3, "multimodal".into())],
            depth: vec![
                BandDepth {
                    band: FrequencyBand::Head,
                    complete: 1,
                    pairs: 10,
                },
                BandDepth {
                    band: FrequencyBand::Tail,
                    complete: 2,
                    pairs: 5,
                },
            ],
            gold: Vec::new(),
        };
        let view = compute(&project, &rows);
        let by_id = |id: &str| view.charts.iter().find(|c| c.id == id).unwrap();
        let band = by_id("labels-by-band");
        assert_eq!(band.rows[0].label, "head");
        assert_eq!(
            band.rows[0].values,
            vec![Some(0.0), Some(0.0), Some(0.0), Some(1.0)]
        );
        assert_eq!(band.rows[2].label, "tail");
        assert_eq!(
            band.rows[2].values,
            vec![Some(0.0), Some(1.0), Some(1.0), Some(0.0)]
        );
        let capability = by_id("labels-by-capability");
        assert_eq!(capability.rows[0].values[3], Some(1.0));
        assert_eq!(capability.rows[0].values[2], Some(1.0));
        let days = by_id("judgments-per-day");
        assert_eq!(days.rows.len(), DAYS);
        assert_eq!(days.rows[DAYS - 1].label, "1970-01-02");
        assert_eq!(days.rows[DAYS - 1].values, vec![Some(5.0)]);
        assert_eq!(days.rows[DAYS - 2].values, vec![Some(3.0)]);
        let alpha = by_id("alpha-over-time");
        // Day one: only pair 1, all agree, so alpha is undefined; day two it is defined.
        assert_eq!(alpha.rows[DAYS - 2].values, vec![None]);
        assert!(alpha.rows[DAYS - 1].values[0].is_some());
        let leaders = by_id("leaderboard");
        assert_eq!(leaders.rows.len(), 3);
        assert_eq!(leaders.rows[0].values[3], Some(3.0), "u1 judged 3 pairs");
        assert_eq!(leaders.rows[0].values[4], Some(2.0), "u1 takes 2 s");
        let depth = by_id("queue-depth");
        assert_eq!(depth.rows[0].values, vec![Some(9.0), Some(0.0), Some(1.0)]);
        let confusion = by_id("confusion");
        // Pair 1: human L4, model L4; pair 3: human L3, model split; pair 2 has no CoTs.
        assert_eq!(confusion.rows[3].values[3], Some(1.0));
        assert_eq!(confusion.rows[2].values[4], Some(1.0));
        let total: f64 = confusion
            .rows
            .iter()
            .flat_map(|r| r.values.iter().flatten())
            .sum();
        assert_eq!(total, 2.0);
        assert_eq!(view.review_queue, 0, "the split pair was decided");
        let csv = String::from_utf8(to_csv(band).unwrap()).unwrap();
        assert_eq!(csv.lines().next(), Some("band,L1,L2,L3,L4"));
        assert_eq!(csv.lines().nth(1), Some("head,0,0,0,1"));
    }

    #[test]
    fn csv_cells_from_user_data_cannot_run_as_formulas() {
        let chart = chart(
            "leaderboard",
            "t",
            "annotator",
            ChartKind::Bars,
            vec!["x".into()],
            vec![ChartRow {
                label: "=HYPERLINK(\"http://evil\")".into(),
                values: vec![Some(0.5)],
            }],
        );
        let csv = String::from_utf8(to_csv(&chart).unwrap()).unwrap();
        assert!(csv.contains("\"'=HYPERLINK"), "{csv}");
        assert!(csv.contains(",0.500"), "{csv}");
    }
}
