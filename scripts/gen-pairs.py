#!/usr/bin/env python3
"""Writes N synthetic pair lines in relabel's canonical JSONL, for import benchmarks.

    scripts/gen-pairs.py N [SEED] > pairs.jsonl

About 10 pairs per query, Zipf-like query frequencies, 3 CoT candidates of 5 steps per
pair, a gold label on 5% of pairs, capability tags. Deterministic for a seed.
"""
import json
import random
import sys

n = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
brands = ["Sony", "Bose", "Nike", "Adidas", "Lodge", "Tefal", "Apple", "Samsung", "Ikea", "Zara"]
cats = [["Electronics", "Headphones"], ["Shoes", "Running"], ["Home", "Kitchen", "Cookware"],
        ["Phones", "Cases"], ["Furniture", "Office chairs"], ["Clothing", "Women", "Dresses"]]
colours = ["black", "white", "red", "blue", "green", "grey"]
labels = ["L1", "L2", "L3", "L4"]
n_queries = max(1, n // 10)
out = sys.stdout
for i in range(n):
    q = i % n_queries
    cat = cats[q % len(cats)]
    brand = brands[(q * 7) % len(brands)]
    colour = colours[q % len(colours)]
    query = f"{colour} {brand.lower()} {cat[-1].lower()} {q}"
    freq = 1 + int(1_000_000 / (1 + q) ** 1.1)
    item_id = f"SKU-{i:08d}"
    item_brand = brand if rng.random() < 0.6 else rng.choice(brands)
    truth = rng.choice(labels)
    steps_for = lambda lab: [
        f"Query need: a {colour} {brand} item in {cat[-1]}",
        f"Item facts: {item_brand} {cat[-1]}, colour {rng.choice(colours)}",
        "Attribute match: brand " + ("matches" if item_brand == brand else "differs"),
        "Rule check: R-BRAND-01 applies",
        f"Verdict: {lab}",
    ]
    cot = []
    for model in ("lore-7b-v3", "lore-7b-v2", "qwen-14b-cot"):
        lab = truth if rng.random() < 0.8 else rng.choice(labels)
        steps = steps_for(lab)
        cot.append({"model": model, "text": "\n".join(steps), "steps": steps, "label": lab})
    record = {
        "query": query,
        "query_frequency": freq,
        "item": {
            "id": item_id,
            "title": f"{item_brand} {cat[-1]} model {i % 9973} in {rng.choice(colours)}",
            "category": cat,
            "attributes": {"brand": item_brand, "color": rng.choice(colours)},
            "price": round(5 + rng.random() * 300, 2),
            "images": [f"https://images.example.com/{item_id}/1.jpg"],
        },
        "cot": cot,
        "tags": rng.sample(["knowledge-reasoning", "multimodal", "rule-adherence", "hard"], 2),
    }
    if i % 20 == 0:
        record["gold_label"] = truth
    out.write(json.dumps(record, separators=(",", ":")))
    out.write("\n")
