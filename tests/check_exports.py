"""Loads relabel's JSONL exports with Hugging Face `datasets` and runs TRL's own data
utilities on them, the way a DPO, SFT or PRM run would prepare them. Run by tests/cli.rs
(`every_export_of_an_api_judged_project_is_one_a_training_run_can_trust`) with the
Python that scripts/dev test sets up; usage: check_exports.py DIR, where DIR holds files
named after the keys of EXPECTED and a `card/` folder written with --split-files."""

import sys
from pathlib import Path

import datasets
from datasets import load_dataset
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
from trl.data_utils import is_conversational, maybe_apply_chat_template, maybe_extract_prompt

# File name -> the columns each record must have (besides `meta`).
EXPECTED = {
    "sft-conversational.jsonl": {"messages"},
    "sft-standard.jsonl": {"prompt", "completion"},
    "preference-pairs-standard.jsonl": {"prompt", "chosen", "rejected", "margin"},
    "preference-pairs-conversational.jsonl": {"prompt", "chosen", "rejected", "margin"},
    "stepwise.jsonl": {"prompt", "completions", "labels"},
    "benchmark.jsonl": {"pair_id", "query", "item", "label", "band", "capabilities", "subsets"},
}

# The chat template docs/formats.md says conversational records assume: any template
# that renders each message's role and content (ChatML here).
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tokenizer():
    """A word-level tokenizer built here, so the check needs no model hub."""
    tok = Tokenizer(models.WordLevel(vocab={"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    fast.chat_template = CHATML
    return fast


def check_messages(messages, roles):
    assert [m["role"] for m in messages] == roles, messages
    assert all(isinstance(m["content"], str) and m["content"] for m in messages), messages


def check_trl(name, row, tok):
    """What TRL's trainers do to a record before training, and what must hold after."""
    example = {k: v for k, v in row.items() if k not in ("meta", "split", "margin")}
    conversational = name.endswith("conversational.jsonl")
    if name in EXPECTED and name != "benchmark.jsonl" and name != "stepwise.jsonl":
        assert is_conversational(example) == conversational, (name, example)
    if name.startswith("preference-pairs"):
        example = maybe_extract_prompt(example)
        applied = maybe_apply_chat_template(example, tok)
        assert applied["prompt"], (name, applied)
        assert applied["chosen"] != applied["rejected"], (name, "chosen == rejected", row["meta"])
        if not conversational:
            # Joined as TRL joins them, prompt and answer stay apart.
            assert applied["prompt"].endswith("\n\nAnswer:\n"), applied["prompt"][-40:]
    elif name.startswith("sft"):
        applied = maybe_apply_chat_template(example, tok)
        if conversational:
            assert applied["text"].count("<|im_start|>") == 3, applied
        else:
            assert applied["prompt"].endswith("\n\nAnswer:\n"), applied["prompt"][-40:]
            assert applied["completion"], applied
        assert row["meta"]["source"] in ("corrected", "candidate"), row["meta"]
    elif name == "stepwise.jsonl":
        assert not is_conversational(example)
        assert example["prompt"].endswith("\n\nAnswer:\n")


def main(folder: Path) -> None:
    datasets.disable_progress_bars()
    tok = tokenizer()
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
            assert row["meta"]["capabilities"], (name, "no capabilities", row["meta"])
            check_trl(name, row, tok)
        # TRL's preparation over the whole dataset, as its trainers run it.
        if name.startswith(("sft", "preference-pairs")):
            keep = [c for c in data.column_names if c not in ("meta", "split", "margin")]
            data.select_columns(keep).map(maybe_apply_chat_template, fn_kwargs={"processing_class": tok})
        print(f"{name}: {data.num_rows} rows, columns {sorted(data.column_names)}")
    # The --split-files folder loads as a dataset with both splits, from its card.
    card = load_dataset(str(folder / "card"))
    assert set(card.keys()) == {"train", "test"}, card
    assert card["train"].num_rows > 0 and card["test"].num_rows > 0, card
    print(f"card/: train {card['train'].num_rows} rows, test {card['test'].num_rows} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
