"""Language-model training throughput: `Learner.fit` against a hand-written loop, same model.

On ../shared/datasets/wikitext2_partial (the validation split as the training corpus, the test
split for validation) both train the same AWD-LSTM language model (emb 128, hidden 256, 2
layers, weight drop and the other dropouts on) with AdamW at a constant learning rate:

- lamina: `TextDataLoaders.from_df(is_lm=True)` + `language_model_learner(...).fit(1, lr)`
  (the stream of windows, the callbacks, the recorder: everything a user gets);
- hand-written: the same windows taken once from a tensor, `model.reset()`, forward, flat
  cross-entropy plus AR and TAR (alpha 2, beta 1, as lamina's AWD-LSTM learners add them),
  backward, step, zero_grad.

Runs are interleaved, each epoch timed over the same number of tokens, median of several.
Prints training tokens/s of each and the ratio (goal >= 0.95), and the validation perplexity
lamina reached after its epochs.

Run: `python benchmarks/text_lm_throughput.py [--repeats 3] [--threads 1] [--limit-lines N]`
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd
import torch
from torch import nn

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "wikitext2_partial"
CONFIG = {"emb_sz": 128, "n_hid": 256, "n_layers": 2}
LR, BS, SEQ_LEN = 3e-3, 32, 64


def lines(path: Path, limit: int | None) -> pd.DataFrame:
    text = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    text = [line for line in text if line and not line.startswith("=")]
    return pd.DataFrame({"text": text[:limit] if limit else text})


def hand_epoch(model: nn.Module, windows: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=LR, fused=True)
    loss_func = nn.CrossEntropyLoss()
    model.train()
    model.reset()
    start = time.perf_counter()
    for x, y in windows:
        raw = model.encoder(x)  # (B, T, emb)
        dropped = model.output_dropout(raw)
        loss = loss_func(model.decoder(dropped).flatten(0, 1), y.flatten())
        loss = loss + 2.0 * dropped.pow(2).mean() + (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
    return time.perf_counter() - start


def lamina_epoch(learn) -> float:
    start = time.perf_counter()
    learn.fit(1, LR)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit-lines", type=int, default=None)
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"skipped: {SHARED} is absent")
        return
    torch.set_num_threads(args.threads)
    from lamina.models import build_model
    from lamina.text import TextDataLoaders, language_model_learner

    train = lines(SHARED / "wiki.valid.tokens", args.limit_lines)
    valid = lines(SHARED / "wiki.test.tokens", args.limit_lines)
    frame = pd.concat([train.assign(is_valid=False), valid.assign(is_valid=True)])
    dls = TextDataLoaders.from_df(frame.reset_index(drop=True), text_col="text", is_lm=True,
                                  valid_col="is_valid", seed=0, bs=BS, seq_len=SEQ_LEN,
                                  device="cpu")  # fmt: skip
    torch.manual_seed(0)
    learn = language_model_learner(dls, "awd_lstm", config=CONFIG, opt_func="adamw", wd=0.0)
    learn.progress.silent = True
    valid_dl = dls.valid
    learn.dls.valid = None  # time training alone; validation is measured once at the end
    tokens = sum(x.numel() for x, _ in dls.train)
    windows = [(x.clone(), y.clone()) for x, y in dls.train]
    hand_model = build_model("awd_lstm_lm", vocab_sz=len(dls.vocab), **CONFIG)
    hand_times, lamina_times = [], []
    for repeat in range(args.repeats):
        hand_times.append(hand_epoch(hand_model, windows))
        lamina_times.append(lamina_epoch(learn))
        print(f"repeat {repeat}: hand {tokens / hand_times[-1]:,.0f} tokens/s, lamina "
              f"{tokens / lamina_times[-1]:,.0f} tokens/s")  # fmt: skip
    hand, ours = statistics.median(hand_times), statistics.median(lamina_times)
    learn.dls.valid = valid_dl
    loss, *_ = learn.validate()
    print(f"{tokens:,} training tokens a pass, threads {args.threads}, median of {args.repeats}")
    print(f"hand-written {tokens / hand:,.0f} tokens/s, lamina {tokens / ours:,.0f} tokens/s")
    print(f"throughput ratio lamina / hand-written: {hand / ours:.3f}  (goal >= 0.95)")
    print(f"validation perplexity after {args.repeats} epochs: {torch.tensor(loss).exp():.1f}")


if __name__ == "__main__":
    main()
