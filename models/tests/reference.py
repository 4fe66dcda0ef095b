"""Reference embeddings for relabel's encoder test, computed independently of candle with
PyTorch sentence-transformers on the same weights. Writes models/tests/reference.json:
the cosine of each listed pair of texts and the first 8 values of every embedding.

    python -m pip install sentence-transformers
    python models/tests/reference.py models/weights/all-MiniLM-L6-v2 > models/tests/reference.json

The texts mix lengths in one batch (padding must be masked) and include one text longer
than 128 tokens (the tokenizer file's own cut must be lifted to the model's 256)."""

import json
import sys

from sentence_transformers import SentenceTransformer

LONG = " ".join(
    f"waterproof trail running shoe size {n} with a grippy rubber sole and breathable mesh upper"
    for n in range(30, 42)
)
TEXTS = [
    "red running shoes",
    "Acme Trail Runner 2 | Shoes > Running | brand: Acme | color: Red",
    "iphone 15 case",
    "Silicone case for iPhone 15, shock-absorbing, matte black",
    "wireless earbuds noise cancelling",
    "Stainless steel kitchen knife set, 6 pieces with wooden block",
    "a",
    LONG,
    LONG + " final words that only a model reading past 128 tokens can see",
]
PAIRS = [(0, 1), (2, 3), (0, 3), (4, 5), (2, 5), (0, 6), (7, 8), (1, 7)]


def main(model_dir: str) -> None:
    model = SentenceTransformer(model_dir, device="cpu")
    vectors = model.encode(TEXTS, batch_size=len(TEXTS), normalize_embeddings=True)
    out = {
        "model": "all-MiniLM-L6-v2",
        "max_seq_length": model.max_seq_length,
        "texts": TEXTS,
        "pairs": [
            {"a": a, "b": b, "cosine": float(vectors[a] @ vectors[b])} for a, b in PAIRS
        ],
        "head": [[float(x) for x in v[:8]] for v in vectors],
    }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
