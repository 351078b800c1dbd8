"""AWD-LSTM training step: lamina's `awd_lstm_lm` against a hand-written PyTorch AWD-LSTM.

Both models have the same sizes (vocab 2,000, emb 128, hidden 256, 3 layers) and the same
regularization: embedding-row dropout, locked dropout on the input, between layers and on the
output, DropConnect on the hidden-to-hidden weights, tied decoder, state carried across
windows. The hand-written one calls `torch.lstm` with the dropped weight directly (what a
careful user would write, not going through `nn.LSTM`). Runs of 10 steps (batch 32, BPTT 70)
are interleaved; the median ratio (lamina time / hand-written time) is printed. Goal: <= 1.10.

Run: python benchmarks/awd_lstm_step.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F

from lamina.models import awd_lstm_lm

VOCAB, EMB, HID, LAYERS, BS, BPTT, STEPS = 2000, 128, 256, 3, 32, 70, 10
DROPS = {"output_p": 0.1, "hidden_p": 0.15, "input_p": 0.25, "embed_p": 0.02, "weight_p": 0.2}


def locked(x: torch.Tensor, p: float) -> torch.Tensor:
    mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - p) / (1 - p)
    return x * mask


class HandWritten(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, EMB, padding_idx=1)
        sizes = [EMB] + [HID] * (LAYERS - 1) + [EMB]
        self.lstms = nn.ModuleList(
            nn.LSTM(i, o, batch_first=True) for i, o in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.decoder = nn.Linear(EMB, VOCAB)
        self.decoder.weight = self.embedding.weight
        self.hidden = None

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        weight = self.embedding.weight
        rows = weight.new_empty(weight.size(0), 1).bernoulli_(1 - DROPS["embed_p"])
        x = locked(F.embedding(tokens, weight * rows / (1 - DROPS["embed_p"])), DROPS["input_p"])
        hidden = self.hidden or [
            (x.new_zeros(1, BS, m.hidden_size), x.new_zeros(1, BS, m.hidden_size))
            for m in self.lstms
        ]
        new = []
        for index, lstm in enumerate(self.lstms):
            hh = F.dropout(lstm.weight_hh_l0, DROPS["weight_p"])
            params = [lstm.weight_ih_l0, hh, lstm.bias_ih_l0, lstm.bias_hh_l0]
            x, h, c = torch.lstm(x, hidden[index], params, True, 1, 0.0, True, False, True)
            new.append((h.detach(), c.detach()))
            if index < LAYERS - 1:
                x = locked(x, DROPS["hidden_p"])
        self.hidden = new
        return self.decoder(locked(x, DROPS["output_p"]))


def run(model: nn.Module, batches: torch.Tensor) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    start = time.perf_counter()
    for step in range(STEPS):
        x, y = batches[step, :, :-1], batches[step, :, 1:]
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)  # the machine is shared; one thread gives steadier timings
    torch.manual_seed(0)
    batches = torch.randint(2, VOCAB, (STEPS, BS, BPTT + 1))
    run(HandWritten(), batches)  # warm up (lazy imports, allocator)
    ratios = []
    for _ in range(args.repeats):
        hand = run(HandWritten(), batches)
        ours = run(awd_lstm_lm(VOCAB, emb_sz=EMB, n_hid=HID, n_layers=LAYERS, **DROPS), batches)
        ratios.append(ours / hand)
        print(f"lamina {ours:.3f}s  hand-written {hand:.3f}s  ratio {ours / hand:.3f}")
    print(f"median ratio (lamina / hand-written): {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
