"""Loads relabel's JSONL exports with Hugging Face `datasets` and checks the columns and
shapes TRL expects. Run by tests/cli.rs (`exports_load_with_the_datasets_library`)
with the Python that .ci/run sets up; usage: check_exports.py DIR, where DIR holds
files named after the keys of EXPECTED."""

import sys
from pathlib import Path

from datasets import load_dataset

# File name -> the columns each record must have (besides `meta`).
EXPECTED = {
    "sft-conversational.jsonl": {"messages"},
    "sft-standard.jsonl": {"prompt", "completion"},
    "preference-pairs-standard.jsonl": {"prompt", "chosen", "rejected", "margin"},
    "preference-pairs-conversational.jsonl": {"prompt", "chosen", "rejected", "margin"},
    "stepwise.jsonl": {"prompt", "completions", "labels"},
    "benchmark.jsonl": {"pair_id", "query", "item", "label", "band", "capabilities", "subsets"},
}


def check_messages(messages, roles):
    assert [m["role"] for m in messages] == roles, messages
    assert all(isinstance(m["content"], str) and m["content"] for m in messages), messages


def main(folder: Path) -> None:
    for name, columns in EXPECTED.items():
        path = folder / name
        data = load_dataset("json", data_files=str(path), split="train")
        assert data.num_rows > 0, f"{name}: no rows"
        missing = (columns | {"meta"}) - set(data.column_names)
        assert not missing, f"{name}: missing columns {missing}; has {data.column_names}"
        for row in data:
            if name == "sft-conversational.jsonl":
                check_messages(row["messages"], ["system", "user", "assistant"])
            elif name == "preference-pairs-conversational.jsonl":
                check_messages(row["prompt"], ["system", "user"])
                check_messages(row["chosen"], ["assistant"])
                check_messages(row["rejected"], ["assistant"])
                assert isinstance(row["margin"], float)
            elif name == "stepwise.jsonl":
                assert len(row["completions"]) == len(row["labels"]) > 0
                assert all(isinstance(label, bool) for label in row["labels"])
            elif name in ("sft-standard.jsonl", "preference-pairs-standard.jsonl"):
                for column in columns - {"margin"}:
                    assert isinstance(row[column], str) and row[column], (name, column)
        print(f"{name}: {data.num_rows} rows, columns {sorted(data.column_names)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
