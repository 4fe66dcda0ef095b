//! The relevance head: a linear layer (or, with a hidden width, two) over [`crate::features::pair_features`] that
//! gives a probability for each level of the project's scale. Trained with candle-nn on
//! relabel's final labels and gold answers, class-balanced, and calibrated on a held-out
//! share by temperature scaling. Everything is seeded: the same rows, labels and options
//! give the same head.

use std::path::Path;

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use candle_core::{D, DType, Device, Tensor};
use candle_nn::{AdamW, Linear, Module, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use crate::ScorerError;

/// How to train a head.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Width of the hidden layer; 0 makes a linear head (softmax regression), the
    /// default: with tens to hundreds of labels it learns faster than a hidden layer
    /// (BENCHMARKS.md, the active-learning curves). A linear head is fitted exactly by
    /// L-BFGS; a hidden layer by AdamW with the batch, epoch and rate settings below.
    pub hidden: usize,
    /// A linear head's L2 penalty on its weights, per label: the objective is the
    /// class-weighted mean cross-entropy plus `l2 / (2 n) * |W|^2` over `n` training rows
    /// (scikit-learn's `LogisticRegression` with `C = 1 / l2`). Larger is smoother.
    pub l2: f64,
    /// A linear head's L-BFGS iterations, at most.
    pub max_iterations: usize,
    /// Passes over the training rows (at least).
    pub epochs: usize,
    /// Optimiser steps (at least): small label sets get more passes, so a head trained on
    /// 50 labels is not left half-trained.
    pub min_steps: usize,
    /// Rows per optimiser step.
    pub batch: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Share of the rows kept out of training, for calibration and the report (0 to 0.5).
    pub heldout: f64,
    /// Seeds the initial weights, the held-out split and the batch order.
    pub seed: u64,
    /// After calibrating on the held-out share, train again on every label (keeping the
    /// temperature), so no label is lost to calibration.
    pub refit: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            hidden: 0,
            l2: 1.0,
            max_iterations: 300,
            epochs: 40,
            min_steps: 400,
            batch: 64,
            learning_rate: 5e-3,
            weight_decay: 1e-2,
            heldout: 0.2,
            seed: 17,
            refit: true,
        }
    }
}

/// What a training run measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HeadReport {
    /// Rows used (training and held-out together).
    pub labels_used: usize,
    /// Rows held out.
    pub heldout_rows: usize,
    /// Mean class-weighted training loss after each epoch (a linear head: the objective
    /// before and after L-BFGS).
    pub losses: Vec<f32>,
    /// The temperature the held-out rows chose (1 when none were held out).
    pub temperature: f32,
    /// Accuracy on the held-out rows (`None` without any).
    pub heldout_accuracy: Option<f64>,
    /// Macro-averaged F1 on the held-out rows over the levels present there.
    pub heldout_macro_f1: Option<f64>,
}

/// Settings stored beside the weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct HeadConfig {
    inputs: usize,
    hidden: usize,
    classes: usize,
    temperature: f32,
}

/// A trained (or loaded) head.
pub struct Head {
    varmap: VarMap,
    /// The hidden layer; none for a linear head (softmax regression).
    first: Option<Linear>,
    second: Linear,
    config: HeadConfig,
    device: Device,
}

impl std::fmt::Debug for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Head")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The linear head's training objective, for L-BFGS: class-weighted mean cross-entropy
/// plus an L2 penalty on the weights (not the biases) of `l2 / (2 n)`, the objective of
/// scikit-learn's `LogisticRegression(C = 1 / l2, class_weight = "balanced")`. It is
/// convex, so L-BFGS from zero reaches the one minimum whatever the seed.
struct SoftmaxObjective {
    /// The training rows (n x inputs).
    x: Tensor,
    /// One-hot levels times each row's class weight, divided by the weights' sum (n x classes).
    target: Tensor,
    /// Each row's class weight divided by the weights' sum (n x 1).
    weight: Tensor,
    classes: usize,
    inputs: usize,
    /// The penalty on the squared weights, already divided by 2n.
    penalty: f64,
}

type ArgminResult<T> = Result<T, argmin::core::Error>;

impl SoftmaxObjective {
    /// The weights (classes x inputs) and biases a parameter vector holds.
    fn split(&self, p: &[f64]) -> ArgminResult<(Tensor, Tensor)> {
        let device = self.x.device();
        let cut = self.classes * self.inputs;
        let w: Vec<f32> = p[..cut].iter().map(|&v| v as f32).collect();
        let b: Vec<f32> = p[cut..].iter().map(|&v| v as f32).collect();
        Ok((
            Tensor::from_vec(w, (self.classes, self.inputs), device)?,
            Tensor::from_vec(b, self.classes, device)?,
        ))
    }

    fn log_probs(&self, p: &[f64]) -> ArgminResult<Tensor> {
        let (w, b) = self.split(p)?;
        let logits = self.x.matmul(&w.t()?)?.broadcast_add(&b)?;
        Ok(candle_nn::ops::log_softmax(&logits, D::Minus1)?)
    }

    fn squared_weights(&self, p: &[f64]) -> f64 {
        p[..self.classes * self.inputs].iter().map(|v| v * v).sum()
    }
}

impl CostFunction for SoftmaxObjective {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, p: &Vec<f64>) -> ArgminResult<f64> {
        let logp = self.log_probs(p)?;
        let loss = f64::from((logp * &self.target)?.sum_all()?.to_scalar::<f32>()?);
        Ok(-loss + self.penalty * self.squared_weights(p))
    }
}

impl Gradient for SoftmaxObjective {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, p: &Vec<f64>) -> ArgminResult<Vec<f64>> {
        // d(loss)/d(logits) = weight * softmax - target, per row.
        let probs = self.log_probs(p)?.exp()?;
        let g = (probs.broadcast_mul(&self.weight)? - &self.target)?;
        let gw = g.t()?.matmul(&self.x)?.flatten_all()?.to_vec1::<f32>()?;
        let gb = g.sum(0)?.to_vec1::<f32>()?;
        let mut out = Vec::with_capacity(p.len());
        out.extend(
            gw.iter()
                .zip(p)
                .map(|(&g, &w)| f64::from(g) + 2.0 * self.penalty * w),
        );
        out.extend(gb.iter().map(|&g| f64::from(g)));
        Ok(out)
    }
}

/// Class-balanced weights for the rows `train` picks: each level present counts as much
/// as the others (`n / (levels present * rows of the level)`), absent levels 0.
fn class_weights(labels: &[usize], train: &[usize], classes: usize) -> Vec<f32> {
    let mut counts = vec![0usize; classes];
    for &i in train {
        counts[labels[i]] += 1;
    }
    let present = counts.iter().filter(|&&c| c > 0).count().max(1);
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                train.len() as f32 / (present * c) as f32
            }
        })
        .collect()
}

/// splitmix64: a small, well-known generator, enough for seeded shuffles and weights.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(relabel_core::mix::GOLDEN_GAMMA);
        relabel_core::mix::splitmix64(self.0)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Fisher-Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

impl Head {
    fn build(config: HeadConfig, device: &Device) -> Result<Head, ScorerError> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
        let (first, width) = if config.hidden == 0 {
            (None, config.inputs)
        } else {
            (
                Some(candle_nn::linear(
                    config.inputs,
                    config.hidden,
                    vb.pp("first"),
                )?),
                config.hidden,
            )
        };
        let second = candle_nn::linear(width, config.classes, vb.pp("second"))?;
        Ok(Head {
            varmap,
            first,
            second,
            config,
            device: device.clone(),
        })
    }

    /// Replaces candle's unseeded initial weights with seeded ones (uniform in
    /// ±1/sqrt(fan-in), biases zero), so training is reproducible.
    fn seed_weights(&self, rng: &mut Rng) -> Result<(), ScorerError> {
        let data = self
            .varmap
            .data()
            .lock()
            .map_err(|_| ScorerError::Training("weights lock poisoned".into()))?;
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        for name in names {
            let var = &data[name];
            let shape = var.shape().clone();
            let values: Vec<f32> = if name.ends_with("bias") {
                vec![0.0; shape.elem_count()]
            } else {
                let bound = 1.0 / (shape.dims()[1] as f64).sqrt();
                (0..shape.elem_count())
                    .map(|_| ((rng.unit() * 2.0 - 1.0) * bound) as f32)
                    .collect()
            };
            var.set(&Tensor::from_vec(values, shape, &self.device)?)?;
        }
        Ok(())
    }

    fn logits(&self, rows: &Tensor) -> Result<Tensor, ScorerError> {
        match &self.first {
            Some(first) => Ok(self.second.forward(&first.forward(rows)?.relu()?)?),
            None => Ok(self.second.forward(rows)?),
        }
    }

    fn tensor(&self, rows: &[&[f32]]) -> Result<Tensor, ScorerError> {
        let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Ok(Tensor::from_vec(
            flat,
            (rows.len(), self.config.inputs),
            &self.device,
        )?)
    }

    /// The number of levels the head scores.
    pub fn classes(&self) -> usize {
        self.config.classes
    }

    /// The width of the rows it reads.
    pub fn inputs(&self) -> usize {
        self.config.inputs
    }

    /// The calibration temperature.
    pub fn temperature(&self) -> f32 {
        self.config.temperature
    }

    /// Calibrated probabilities, one vector of `classes` per row.
    pub fn predict(&self, rows: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, ScorerError> {
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(4096) {
            if let Some(bad) = chunk.iter().find(|r| r.len() != self.config.inputs) {
                return Err(ScorerError::Training(format!(
                    "a row has {} values; this head reads {}",
                    bad.len(),
                    self.config.inputs
                )));
            }
            let refs: Vec<&[f32]> = chunk.iter().map(Vec::as_slice).collect();
            let logits = (self.logits(&self.tensor(&refs)?)? / f64::from(self.config.temperature))?;
            out.extend(candle_nn::ops::softmax(&logits, D::Minus1)?.to_vec2::<f32>()?);
        }
        Ok(out)
    }

    /// Trains a head on `rows` labelled with level indexes `labels` (< `classes`).
    pub fn train(
        rows: &[Vec<f32>],
        labels: &[usize],
        classes: usize,
        options: &TrainOptions,
        device: &Device,
    ) -> Result<(Head, HeadReport), ScorerError> {
        let inputs = rows.first().map_or(0, Vec::len);
        if rows.len() != labels.len() || rows.is_empty() || classes < 2 {
            return Err(ScorerError::Training(format!(
                "need labelled rows and at least two levels; got {} rows, {} labels, {classes} levels",
                rows.len(),
                labels.len()
            )));
        }
        if let Some(bad) = labels.iter().find(|&&l| l >= classes) {
            return Err(ScorerError::Training(format!(
                "label {bad} is outside the scale's {classes} levels"
            )));
        }
        let mut rng = Rng::new(options.seed);
        let mut order: Vec<usize> = (0..rows.len()).collect();
        rng.shuffle(&mut order);
        let held = if rows.len() >= 10 {
            ((rows.len() as f64) * options.heldout.clamp(0.0, 0.5)).round() as usize
        } else {
            0
        };
        let (heldout, train) = order.split_at(held);
        let config = HeadConfig {
            inputs,
            hidden: options.hidden,
            classes,
            temperature: 1.0,
        };
        let mut head = Head::build(config.clone(), device)?;
        let losses = head.fit(rows, labels, train, options, &mut rng)?;

        let mut report = HeadReport {
            labels_used: rows.len(),
            heldout_rows: heldout.len(),
            losses,
            temperature: 1.0,
            heldout_accuracy: None,
            heldout_macro_f1: None,
        };
        if !heldout.is_empty() {
            let refs: Vec<&[f32]> = heldout.iter().map(|&i| rows[i].as_slice()).collect();
            let logits = head.logits(&head.tensor(&refs)?)?.to_vec2::<f32>()?;
            let truth: Vec<usize> = heldout.iter().map(|&i| labels[i]).collect();
            let temperature = fit_temperature(&logits, &truth);
            head.config.temperature = temperature;
            let predicted: Vec<usize> = logits.iter().map(|l| argmax(l)).collect();
            let right = predicted.iter().zip(&truth).filter(|(p, t)| p == t).count();
            report.temperature = temperature;
            report.heldout_accuracy = Some(right as f64 / truth.len() as f64);
            report.heldout_macro_f1 = Some(macro_f1(&predicted, &truth, classes));
            if options.refit {
                // The held-out rows have done their work (temperature and report); the
                // head that scores learns from every label, with that temperature.
                let all: Vec<usize> = (0..rows.len()).collect();
                head = Head::build(config, device)?;
                head.fit(rows, labels, &all, options, &mut rng)?;
                head.config.temperature = temperature;
            }
        }
        Ok((head, report))
    }

    /// Trains from fresh seeded weights on the rows `train` picks; the mean class-weighted
    /// loss after each epoch.
    fn fit(
        &mut self,
        rows: &[Vec<f32>],
        labels: &[usize],
        train: &[usize],
        options: &TrainOptions,
        rng: &mut Rng,
    ) -> Result<Vec<f32>, ScorerError> {
        self.seed_weights(rng)?;
        if self.first.is_none() {
            return self.fit_linear(rows, labels, train, options);
        }
        let device = self.device.clone();
        let class_weight = class_weights(labels, train, self.config.classes);
        let mut optimiser = AdamW::new(
            self.varmap.all_vars(),
            ParamsAdamW {
                lr: options.learning_rate,
                weight_decay: options.weight_decay,
                ..ParamsAdamW::default()
            },
        )?;
        let mut train: Vec<usize> = train.to_vec();
        let steps_per_epoch = train.len().div_ceil(options.batch.max(1)).max(1);
        let epochs = options
            .epochs
            .max(options.min_steps.div_ceil(steps_per_epoch));
        let mut losses = Vec::with_capacity(epochs);
        for _ in 0..epochs {
            rng.shuffle(&mut train);
            let (mut total, mut weight) = (0.0f32, 0.0f32);
            for batch in train.chunks(options.batch.max(1)) {
                let refs: Vec<&[f32]> = batch.iter().map(|&i| rows[i].as_slice()).collect();
                let x = self.tensor(&refs)?;
                let y: Vec<u32> = batch.iter().map(|&i| labels[i] as u32).collect();
                let w: Vec<f32> = batch.iter().map(|&i| class_weight[labels[i]]).collect();
                let w_sum: f32 = w.iter().sum();
                let y = Tensor::from_vec(y, (batch.len(), 1), &device)?;
                let w = Tensor::from_vec(w, batch.len(), &device)?;
                let logp = candle_nn::ops::log_softmax(&self.logits(&x)?, D::Minus1)?;
                let picked = logp.gather(&y, 1)?.squeeze(1)?;
                let loss = ((picked * &w)?.sum_all()? * f64::from(-1.0 / w_sum))?;
                optimiser.backward_step(&loss)?;
                total += loss.to_scalar::<f32>()? * w_sum;
                weight += w_sum;
            }
            losses.push(total / weight.max(f32::MIN_POSITIVE));
        }
        Ok(losses)
    }

    /// Fits a linear head exactly: L-BFGS on [`SoftmaxObjective`] from zero weights, until
    /// the gradient or the change in cost is negligible or `max_iterations` pass. Returns
    /// the objective at the start and at the end.
    fn fit_linear(
        &mut self,
        rows: &[Vec<f32>],
        labels: &[usize],
        train: &[usize],
        options: &TrainOptions,
    ) -> Result<Vec<f32>, ScorerError> {
        let (classes, inputs) = (self.config.classes, self.config.inputs);
        let class_weight = class_weights(labels, train, classes);
        let total: f32 = train.iter().map(|&i| class_weight[labels[i]]).sum();
        let mut target = vec![0f32; train.len() * classes];
        let mut weight = Vec::with_capacity(train.len());
        for (row, &i) in train.iter().enumerate() {
            let w = class_weight[labels[i]] / total;
            target[row * classes + labels[i]] = w;
            weight.push(w);
        }
        let refs: Vec<&[f32]> = train.iter().map(|&i| rows[i].as_slice()).collect();
        let problem = SoftmaxObjective {
            x: self.tensor(&refs)?,
            target: Tensor::from_vec(target, (train.len(), classes), &self.device)?,
            weight: Tensor::from_vec(weight, (train.len(), 1), &self.device)?,
            classes,
            inputs,
            penalty: options.l2 / (2.0 * train.len() as f64),
        };
        let start = vec![0f64; classes * inputs + classes];
        let failed = |e: argmin::core::Error| ScorerError::Training(format!("L-BFGS: {e}"));
        let first_cost = problem.cost(&start).map_err(failed)?;
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
            .with_tolerance_grad(1e-6)
            .map_err(failed)?
            .with_tolerance_cost(1e-10)
            .map_err(failed)?;
        let result = Executor::new(problem, solver)
            .configure(|state| state.param(start).max_iters(options.max_iterations as u64))
            .run()
            .map_err(failed)?;
        let state = result.state();
        let best = state
            .get_best_param()
            .ok_or_else(|| ScorerError::Training("L-BFGS found no parameters".into()))?;
        let cut = classes * inputs;
        let w: Vec<f32> = best[..cut].iter().map(|&v| v as f32).collect();
        let b: Vec<f32> = best[cut..].iter().map(|&v| v as f32).collect();
        self.set(
            "second.weight",
            Tensor::from_vec(w, (classes, inputs), &self.device)?,
        )?;
        self.set("second.bias", Tensor::from_vec(b, classes, &self.device)?)?;
        Ok(vec![first_cost as f32, state.get_best_cost() as f32])
    }

    /// Replaces the values of the weight called `name`.
    fn set(&self, name: &str, value: Tensor) -> Result<(), ScorerError> {
        let data = self
            .varmap
            .data()
            .lock()
            .map_err(|_| ScorerError::Training("weights lock poisoned".into()))?;
        let var = data
            .get(name)
            .ok_or_else(|| ScorerError::Training(format!("the head has no weight {name}")))?;
        Ok(var.set(&value)?)
    }

    /// The head's weights (safetensors bytes) and its settings (JSON): what the database
    /// keeps of a training run, so every server scores with the same head.
    pub fn to_bytes(&self) -> Result<(Vec<u8>, String), ScorerError> {
        let tensors: Vec<(String, Tensor)> = self
            .varmap
            .data()
            .lock()
            .map_err(|_| ScorerError::Training("weights lock poisoned".into()))?
            .iter()
            .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
            .collect();
        let weights = safetensors::serialize(tensors, None)
            .map_err(|e| ScorerError::Training(e.to_string()))?;
        let config = serde_json::to_string(&self.config)
            .map_err(|e| ScorerError::Training(e.to_string()))?;
        Ok((weights, config))
    }

    /// A head from [`Head::to_bytes`]'s output.
    pub fn from_bytes(weights: &[u8], config: &str, device: &Device) -> Result<Head, ScorerError> {
        let bad = |e: String| ScorerError::Training(format!("stored head: {e}"));
        let config: HeadConfig = serde_json::from_str(config).map_err(|e| bad(e.to_string()))?;
        let head = Head::build(config, device)?;
        let tensors = candle_core::safetensors::load_buffer(weights, device)?;
        for (name, var) in head
            .varmap
            .data()
            .lock()
            .map_err(|_| bad("weights lock poisoned".into()))?
            .iter()
        {
            let tensor = tensors
                .get(name)
                .ok_or_else(|| bad(format!("no tensor {name}")))?;
            var.set(tensor)?;
        }
        Ok(head)
    }

    /// Writes the head to `path` (safetensors) and its settings to `path` + `.json`.
    pub fn save(&self, path: &Path) -> Result<(), ScorerError> {
        let (weights, config) = self.to_bytes()?;
        std::fs::write(path, weights).map_err(|e| ScorerError::Io(path.to_owned(), e))?;
        let side = sidecar(path);
        std::fs::write(&side, config).map_err(|e| ScorerError::Io(side, e))
    }

    /// Reads a head written by [`Head::save`].
    pub fn load(path: &Path, device: &Device) -> Result<Head, ScorerError> {
        let side = sidecar(path);
        let config =
            std::fs::read_to_string(&side).map_err(|e| ScorerError::Io(side.clone(), e))?;
        let weights = std::fs::read(path).map_err(|e| ScorerError::Io(path.to_owned(), e))?;
        Head::from_bytes(&weights, &config, device)
    }
}

fn sidecar(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".json");
    name.into()
}

/// The index of the largest value (the first on ties).
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// Mean negative log-likelihood of `truth` under softmax(`logits` / t).
fn nll(logits: &[Vec<f32>], truth: &[usize], t: f32) -> f64 {
    let mut total = 0.0f64;
    for (row, &y) in logits.iter().zip(truth) {
        let scaled: Vec<f64> = row.iter().map(|&v| f64::from(v / t)).collect();
        let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_sum = scaled.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max;
        total += log_sum - scaled[y];
    }
    total / truth.len().max(1) as f64
}

/// Temperature scaling (Guo et al. 2017): the temperature in [0.05, 10] that minimises
/// the held-out negative log-likelihood, by a coarse grid then golden-section search.
pub fn fit_temperature(logits: &[Vec<f32>], truth: &[usize]) -> f32 {
    let grid: Vec<f32> = (0..=40)
        .map(|i| 0.05 * 1.16f32.powi(i))
        .filter(|&t| t <= 10.0)
        .collect();
    let best = grid
        .iter()
        .copied()
        .min_by(|&a, &b| nll(logits, truth, a).total_cmp(&nll(logits, truth, b)))
        .unwrap_or(1.0);
    let (mut lo, mut hi) = (best / 1.16, best * 1.16);
    let phi = 0.618_034f32;
    for _ in 0..30 {
        let a = hi - phi * (hi - lo);
        let b = lo + phi * (hi - lo);
        if nll(logits, truth, a) < nll(logits, truth, b) {
            hi = b;
        } else {
            lo = a;
        }
    }
    (lo + hi) / 2.0
}

/// Macro-averaged F1 over the levels that occur in `truth` or `predicted`.
pub fn macro_f1(predicted: &[usize], truth: &[usize], classes: usize) -> f64 {
    let mut f1s = Vec::new();
    for c in 0..classes {
        let tp = predicted
            .iter()
            .zip(truth)
            .filter(|&(&p, &t)| p == c && t == c)
            .count();
        let fp = predicted
            .iter()
            .zip(truth)
            .filter(|&(&p, &t)| p == c && t != c)
            .count();
        let fn_ = predicted
            .iter()
            .zip(truth)
            .filter(|&(&p, &t)| p != c && t == c)
            .count();
        if tp + fp + fn_ == 0 {
            continue;
        }
        f1s.push(2.0 * tp as f64 / (2 * tp + fp + fn_) as f64);
    }
    if f1s.is_empty() {
        0.0
    } else {
        f1s.iter().sum::<f64>() / f1s.len() as f64
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]
    use super::*;

    /// Three separable clusters in 6 dimensions with a little seeded noise; level 2 rare.
    fn clusters(n: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<usize>) {
        let mut rng = Rng::new(seed);
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let label = if i % 10 == 0 { 2 } else { i % 2 };
            let mut row: Vec<f32> = (0..6).map(|_| (rng.unit() as f32 - 0.5) * 0.6).collect();
            row[label * 2] += 1.0;
            rows.push(row);
            labels.push(label);
        }
        (rows, labels)
    }

    #[test]
    fn training_reduces_the_loss_and_learns_separable_levels() {
        let (rows, labels) = clusters(200, 1);
        let options = TrainOptions {
            hidden: 16,
            epochs: 30,
            batch: 32,
            ..TrainOptions::default()
        };
        let (head, report) = Head::train(&rows, &labels, 3, &options, &Device::Cpu).unwrap();
        let first = report.losses[0];
        let last = *report.losses.last().unwrap();
        assert!(last < first * 0.5, "loss {first} -> {last}");
        assert_eq!(report.heldout_rows, 40);
        assert!(report.heldout_accuracy.unwrap() > 0.9, "{report:?}");
        assert!(report.heldout_macro_f1.unwrap() > 0.85, "{report:?}");
        let p = head.predict(&rows[..3]).unwrap();
        assert!(p.iter().all(|p| (p.iter().sum::<f32>() - 1.0).abs() < 1e-4));
        assert_eq!(argmax(&p[1]), labels[1]);
    }

    #[test]
    fn a_linear_head_is_fitted_to_the_one_minimum_whatever_the_seed() {
        let (rows, labels) = clusters(200, 3);
        let options = TrainOptions {
            heldout: 0.0,
            ..TrainOptions::default()
        };
        assert_eq!(options.hidden, 0, "the default head is linear");
        let (a, report) = Head::train(&rows, &labels, 3, &options, &Device::Cpu).unwrap();
        // Before L-BFGS the weights are zero: the loss is ln(3).
        assert!((report.losses[0] - 3f32.ln()).abs() < 1e-4, "{report:?}");
        assert!(report.losses[1] < report.losses[0] * 0.5, "{report:?}");
        let right = a
            .predict(&rows)
            .unwrap()
            .iter()
            .zip(&labels)
            .filter(|(p, l)| argmax(p) == **l)
            .count();
        assert!(right >= 190, "{right} of 200 right");
        // The objective is convex and L-BFGS starts from zero: the seed, which only
        // picks the held-out rows (none here), changes nothing.
        let other = TrainOptions {
            seed: 99,
            ..options.clone()
        };
        let (b, _) = Head::train(&rows, &labels, 3, &other, &Device::Cpu).unwrap();
        for (pa, pb) in a
            .predict(&rows)
            .unwrap()
            .iter()
            .zip(b.predict(&rows).unwrap())
        {
            for (x, y) in pa.iter().zip(&pb) {
                assert!((x - y).abs() < 1e-3, "{pa:?} vs {pb:?}");
            }
        }
        // A stronger penalty gives a less confident head.
        let smooth = TrainOptions {
            l2: 50.0,
            ..options.clone()
        };
        let (c, _) = Head::train(&rows, &labels, 3, &smooth, &Device::Cpu).unwrap();
        let top = |h: &Head| -> f32 {
            h.predict(&rows)
                .unwrap()
                .iter()
                .map(|p| p.iter().cloned().fold(0.0, f32::max))
                .sum()
        };
        assert!(top(&c) < top(&a), "{} vs {}", top(&c), top(&a));
    }

    #[test]
    fn the_same_seed_trains_the_same_head_and_it_survives_a_save() {
        let (rows, labels) = clusters(60, 2);
        let options = TrainOptions {
            hidden: 8,
            epochs: 5,
            ..TrainOptions::default()
        };
        let (a, ra) = Head::train(&rows, &labels, 3, &options, &Device::Cpu).unwrap();
        let (_, rb) = Head::train(&rows, &labels, 3, &options, &Device::Cpu).unwrap();
        assert_eq!(ra, rb);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("head.safetensors");
        a.save(&path).unwrap();
        let b = Head::load(&path, &Device::Cpu).unwrap();
        assert_eq!(a.predict(&rows).unwrap(), b.predict(&rows).unwrap());
        assert_eq!(b.temperature(), ra.temperature);
    }

    #[test]
    fn bad_labels_and_rows_are_refused() {
        let rows = vec![vec![0.0, 1.0]; 4];
        let err = Head::train(
            &rows,
            &[0, 1, 5, 0],
            3,
            &TrainOptions::default(),
            &Device::Cpu,
        )
        .unwrap_err();
        assert!(err.to_string().contains("label 5"), "{err}");
        let (head, _) = Head::train(
            &rows,
            &[0, 1, 1, 0],
            2,
            &TrainOptions::default(),
            &Device::Cpu,
        )
        .unwrap();
        assert!(head.predict(&[vec![1.0]]).is_err());
    }

    #[test]
    fn temperature_scaling_softens_overconfident_logits() {
        // Confident logits that are right only 60% of the time: the fitted temperature
        // must flatten them (t > 1) and lower the held-out NLL.
        let logits: Vec<Vec<f32>> = (0..100).map(|_| vec![4.0, 0.0]).collect();
        let truth: Vec<usize> = (0..100).map(|i| usize::from(i % 5 >= 3)).collect();
        let t = fit_temperature(&logits, &truth);
        assert!(t > 1.0, "{t}");
        assert!(nll(&logits, &truth, t) < nll(&logits, &truth, 1.0));
        // softmax([4/t, 0]) should be near the 0.6 accuracy: 4/t = ln(1.5).
        assert!((4.0 / t - 1.5f32.ln()).abs() < 0.01, "{t}");
    }

    #[test]
    fn macro_f1_averages_over_the_levels_present() {
        assert_eq!(macro_f1(&[0, 1, 1], &[0, 1, 1], 4), 1.0);
        // level 0: tp1 fp0 fn1 -> 2/3; level 1: tp1 fp1 fn0 -> 2/3
        assert!((macro_f1(&[0, 1, 1], &[0, 0, 1], 2) - 2.0 / 3.0).abs() < 1e-12);
    }
}
