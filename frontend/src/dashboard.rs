//! A project's quality dashboard at `/p/{slug}/quality`, for its admins and reviewers:
//! agreement, the review queue, flagged annotators, and charts drawn as SVG on the
//! server (no chart library, no script needed to see them). Every chart has its table
//! and a CSV download of the same table.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use relabel_core::format::number;

use crate::error::{AppFnError, set_refusal_status};
use crate::server_fns::quality::dashboard::project_dashboard;
use crate::types::{ChartKind, ChartRow, ChartView, DashboardView};

/// Series colours, in order (the first four read low to high relevance).
const PALETTE: [&str; 8] = [
    "#c0392b", "#e67e22", "#7fb3d5", "#1f618d", "#7d3c98", "#117a65", "#b7950b", "#566573",
];

/// The drawing's size and the plot area's margins, in SVG units.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 48.0;

/// The dashboard page.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let data = Resource::new(slug, project_dashboard);
    view! {
        <section class="dashboard">
            <h1>"Label quality of " <code>{slug}</code></h1>
            <Suspense fallback=|| view! { <p>"Loading the dashboard…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(view) => view! { <Dashboard view slug=slug() /> }.into_any(),
                        Err(err) => {
                            set_refusal_status(&err);
                            let text = match &err {
                                AppFnError::Unauthorized => "Log in as a reviewer or admin of this project to see its quality.".to_owned(),
                                AppFnError::Forbidden(_) => "Only this project's reviewers and admins can see its quality dashboard.".to_owned(),
                                other => other.to_string(),
                            };
                            view! { <p class="error" role="alert" id="dashboard-denied">{text}</p> }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The headline figures and the charts.
#[component]
fn Dashboard(view: DashboardView, slug: String) -> impl IntoView {
    let alpha = view
        .alpha
        .map_or_else(|| "undefined".to_owned(), |a| format!("{a:.3}"));
    let flagged = if view.flagged.is_empty() {
        "none".to_owned()
    } else {
        view.flagged.join(", ")
    };
    view! {
        <dl class="headline" id="quality-headline">
            <dt>"Krippendorff's alpha (ordinal)"</dt>
            <dd id="quality-alpha">{alpha}</dd>
            <dt>"Pairs awaiting review"</dt>
            <dd id="quality-review">{view.review_queue}</dd>
            <dt>"Flagged for gold accuracy"</dt>
            <dd id="quality-flagged">{flagged}</dd>
        </dl>
        {view
            .charts
            .into_iter()
            .map(|chart| view! { <Chart chart slug=slug.clone() /> })
            .collect_view()}
    }
}

/// One chart: the drawing, its table and the CSV link.
#[component]
fn Chart(chart: ChartView, slug: String) -> impl IntoView {
    let csv = format!("/api/v1/projects/{slug}/quality/charts/{}", chart.id);
    let figure_id = format!("chart-{}", chart.id);
    let table_id = format!("table-{}", chart.id);
    let title = chart.title.clone();
    let drawing = drawing(&chart);
    view! {
        <figure class="chart" id=figure_id>
            <figcaption>{title}</figcaption>
            {drawing}
            <details class="chart-table">
                <summary>"Table"</summary>
                <ChartTable chart=chart.clone() id=table_id />
            </details>
            <a class="csv" href=csv download="">"Download CSV"</a>
        </figure>
    }
}

/// A chart's table.
#[component]
fn ChartTable(chart: ChartView, id: String) -> impl IntoView {
    let cell = |v: &Option<f64>| v.map_or_else(String::new, number);
    view! {
        <table id=id>
            <thead>
                <tr>
                    <th>{chart.row_label.clone()}</th>
                    {chart.series.iter().map(|s| view! { <th>{s.clone()}</th> }).collect_view()}
                </tr>
            </thead>
            <tbody>
                {chart
                    .rows
                    .iter()
                    .map(|row| {
                        view! {
                            <tr>
                                <th scope="row">{row.label.clone()}</th>
                                {row.values.iter().map(|v| view! { <td>{cell(v)}</td> }).collect_view()}
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// The SVG drawing of a chart.
fn drawing(chart: &ChartView) -> AnyView {
    let label = format!("{} (the table below has the numbers)", chart.title);
    let body = if chart.rows.is_empty() {
        view! { <text x=WIDTH / 2.0 y=HEIGHT / 2.0 text-anchor="middle" class="empty">"No data yet"</text> }
            .into_any()
    } else {
        match chart.kind {
            ChartKind::StackedBars => bars(chart, true),
            ChartKind::Bars => bars(chart, false),
            ChartKind::Line => line(chart),
            ChartKind::Heatmap => heatmap(chart),
        }
    };
    view! {
        <svg
            class="chart-svg"
            viewBox=format!("0 0 {WIDTH} {HEIGHT}")
            role="img"
            aria-label=label
            xmlns="http://www.w3.org/2000/svg"
        >
            {body}
        </svg>
    }
    .into_any()
}

/// Row labels under the x axis: every one when few, else about eight of them.
fn x_labels(rows: &[ChartRow], x_of: &dyn Fn(usize) -> f64) -> impl IntoView + use<> {
    let every = rows.len().div_ceil(8).max(1);
    rows.iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, row)| {
            let x = x_of(i);
            let text = if row.label.chars().count() > 14 {
                format!("{}…", row.label.chars().take(13).collect::<String>())
            } else {
                row.label.clone()
            };
            view! { <text x=x y=HEIGHT - BOTTOM + 16.0 text-anchor="middle" class="tick">{text}</text> }
        })
        .collect_view()
}

/// The y axis from 0 (or `low`) to `high`, with its top and bottom values.
fn y_axis(low: f64, high: f64) -> impl IntoView + use<> {
    view! {
        <line x1=LEFT y1=TOP x2=LEFT y2=HEIGHT - BOTTOM class="axis" stroke="#888" />
        <line x1=LEFT y1=HEIGHT - BOTTOM x2=WIDTH - RIGHT y2=HEIGHT - BOTTOM class="axis" stroke="#888" />
        <text x=LEFT - 4.0 y=TOP + 4.0 text-anchor="end" class="tick">{number(high)}</text>
        <text x=LEFT - 4.0 y=HEIGHT - BOTTOM text-anchor="end" class="tick">{number(low)}</text>
    }
}

/// A legend of the series drawn, along the top.
fn legend(series: &[String]) -> impl IntoView + use<> {
    series
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let x = LEFT + i as f64 * 96.0;
            view! {
                <rect x=x y=6.0 width=10.0 height=10.0 fill=PALETTE[i % PALETTE.len()] />
                <text x=x + 14.0 y=15.0 class="legend">{name.clone()}</text>
            }
        })
        .collect_view()
}

fn bars(chart: &ChartView, stacked: bool) -> AnyView {
    let series = if stacked { chart.series.len() } else { 1 };
    let total = |row: &ChartRow| -> f64 { row.values.iter().take(series).flatten().sum() };
    let high = chart.rows.iter().map(total).fold(0.0, f64::max).max(1.0);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / chart.rows.len() as f64;
    let x_of = move |i: usize| LEFT + slot * (i as f64 + 0.5);
    let mut rects = Vec::new();
    for (i, row) in chart.rows.iter().enumerate() {
        let mut base = 0.0;
        for (s, value) in row.values.iter().take(series).enumerate() {
            let v = value.unwrap_or(0.0);
            if v <= 0.0 {
                continue;
            }
            let y = TOP + plot_h * (1.0 - (base + v) / high);
            let h = plot_h * v / high;
            let x = x_of(i) - slot * 0.35;
            rects.push(view! {
                <rect x=x y=y width=slot * 0.7 height=h fill=PALETTE[s % PALETTE.len()] class="bar">
                </rect>
            });
            base += v;
        }
    }
    let shown: Vec<String> = chart.series.iter().take(series).cloned().collect();
    view! {
        {legend(&shown)}
        {y_axis(0.0, high)}
        {rects}
        {x_labels(&chart.rows, &x_of)}
    }
    .into_any()
}

fn line(chart: &ChartView) -> AnyView {
    let values: Vec<Option<f64>> = chart
        .rows
        .iter()
        .map(|r| r.values.first().copied().flatten())
        .collect();
    let defined: Vec<f64> = values.iter().flatten().copied().collect();
    let low = defined.iter().copied().fold(0.0, f64::min);
    let high = defined.iter().copied().fold(1.0, f64::max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / chart.rows.len() as f64;
    let x_of = move |i: usize| LEFT + slot * (i as f64 + 0.5);
    let y_of = move |v: f64| TOP + plot_h * (1.0 - (v - low) / (high - low).max(1e-9));
    let points = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x_of(i), y_of(v))))
        .collect::<Vec<_>>()
        .join(" ");
    let dots = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            v.map(|v| view! { <circle cx=x_of(i) cy=y_of(v) r=2.5 fill=PALETTE[3] /> })
        })
        .collect_view();
    let shown: Vec<String> = chart.series.iter().take(1).cloned().collect();
    view! {
        {legend(&shown)}
        {y_axis(low, high)}
        <polyline points=points fill="none" stroke=PALETTE[3] stroke-width="2" />
        {dots}
        {x_labels(&chart.rows, &x_of)}
    }
    .into_any()
}

fn heatmap(chart: &ChartView) -> AnyView {
    let high = chart
        .rows
        .iter()
        .flat_map(|r| r.values.iter().flatten())
        .copied()
        .fold(0.0, f64::max)
        .max(1.0);
    let left = 110.0;
    let cols = chart.series.len().max(1) as f64;
    let cell_w = (WIDTH - left - RIGHT) / cols;
    let cell_h = (HEIGHT - TOP - 8.0) / chart.rows.len() as f64;
    let mut cells = Vec::new();
    for (r, row) in chart.rows.iter().enumerate() {
        let y = TOP + r as f64 * cell_h;
        for (c, value) in row.values.iter().enumerate() {
            let v = value.unwrap_or(0.0);
            let x = left + c as f64 * cell_w;
            let shade = 0.08 + 0.92 * v / high;
            let opacity = format!("{shade:.2}");
            // Dark cells get light digits.
            let ink = if shade > 0.55 { "#fff" } else { "#222" };
            cells.push(view! {
                <rect x=x y=y width=cell_w - 2.0 height=cell_h - 2.0 fill=PALETTE[3] fill-opacity=opacity class="cell" />
                <text x=x + cell_w / 2.0 y=y + cell_h / 2.0 + 4.0 text-anchor="middle" class="cell-count" style=format!("fill: {ink}")>{number(v)}</text>
            });
        }
    }
    let row_labels = chart
        .rows
        .iter()
        .enumerate()
        .map(|(r, row)| {
            let y = TOP + r as f64 * cell_h + cell_h / 2.0 + 4.0;
            view! { <text x=left - 6.0 y=y text-anchor="end" class="tick">{row.label.clone()}</text> }
        })
        .collect_view();
    let col_labels = chart
        .series
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let x = left + c as f64 * cell_w + cell_w / 2.0;
            view! { <text x=x y=TOP - 8.0 text-anchor="middle" class="tick">{name.clone()}</text> }
        })
        .collect_view();
    view! { {col_labels} {row_labels} {cells} }.into_any()
}
