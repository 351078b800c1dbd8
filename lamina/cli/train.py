"""`lamina train {vision,tabular,collab,text}`: the three lines of each application, from the
shell. Progress is shown as training runs; `--lr auto` runs the LR finder first and says what it
picked; `--plots DIR` writes the loss curve, the LR finder's curve and a confusion matrix as PNG.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lamina.cli.options import add_training_options, positive_int, unit_fraction


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `lamina train` and its applications."""
    parser = subparsers.add_parser(
        "train", parents=parents, help="train a model and export it to one file",
        description="Train a model on a folder of images, a table, ratings or texts, and "
        "export it (lamina predict / info / serve read the file).",
    )  # fmt: skip
    apps = parser.add_subparsers(title="applications", metavar="APP", required=True)
    _vision(apps, parents)
    _tabular(apps, parents)
    _collab(apps, parents)
    _text(apps, parents)


def _vision(apps: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = apps.add_parser(
        "vision", parents=parents, help="an image classifier from class folders",
        description="Train an image classifier on PATH/<label>/<image> folders (a random "
        "--valid-pct held out), or PATH/<train>/<label>/... and PATH/<valid>/<label>/... "
        "with --train/--valid.",
    )  # fmt: skip
    parser.add_argument("path", type=Path, help="the folder of images")
    split = parser.add_mutually_exclusive_group()
    split.add_argument(
        "--valid-pct",
        type=unit_fraction,
        default=None,
        help="fraction of images held out for validation (default 0.2)",
    )
    split.add_argument("--train", default=None,
                       help="subfolder of the training images (with --valid)")  # fmt: skip
    parser.add_argument("--valid", default="valid", help="subfolder of the validation images")
    parser.add_argument("--arch", default="resnet18",
                        help="a registered architecture (default resnet18)")  # fmt: skip
    parser.add_argument("--size", type=positive_int, default=224,
                        help="images are resized to SIZE x SIZE (default 224)")  # fmt: skip
    parser.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=True,
                        help="start from the architecture's pretrained weights and fine-tune "
                        "(default; downloads them once)")  # fmt: skip
    add_training_options(parser, epochs=5, bs=64)
    parser.set_defaults(run=run_vision)


def _tabular(apps: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = apps.add_parser(
        "tabular", parents=parents, help="a classifier or regressor on a CSV table",
        description="Train on the rows of CSV to predict column --y (a category or numbers). "
        "Input columns default to every other column, split into categorical and continuous "
        "by their type; --cat/--cont choose them.",
    )  # fmt: skip
    parser.add_argument("csv", type=Path, help="the table, with a header row")
    parser.add_argument("--y", required=True, help="the column to predict")
    parser.add_argument("--cat", nargs="+", default=None, metavar="COL",
                        help="categorical input columns")  # fmt: skip
    parser.add_argument("--cont", nargs="+", default=None, metavar="COL",
                        help="continuous input columns")  # fmt: skip
    parser.add_argument("--valid-pct", type=unit_fraction, default=0.2,
                        help="fraction of rows held out for validation (default 0.2)")  # fmt: skip
    parser.add_argument("--layers", type=positive_int, nargs="+", default=None, metavar="N",
                        help="hidden layer widths (default 200 100)")  # fmt: skip
    add_training_options(parser, epochs=5, bs=64)
    parser.set_defaults(run=run_tabular)


def _collab(apps: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = apps.add_parser(
        "collab", parents=parents, help="a rating model on a CSV of (user, item, rating)",
        description="Train a collaborative-filtering model (biased dot product of embeddings) "
        "on the ratings in CSV.",
    )  # fmt: skip
    parser.add_argument("csv", type=Path, help="the ratings, with a header row")
    parser.add_argument("--user", default=None, help="the user column (default: the first)")
    parser.add_argument("--item", default=None, help="the item column (default: the second)")
    parser.add_argument("--rating", default=None,
                        help="the rating column (default: the third)")  # fmt: skip
    parser.add_argument("--factors", type=positive_int, default=50,
                        help="embedding size (default 50)")  # fmt: skip
    parser.add_argument("--y-range", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                        help="squash predictions into (LOW, HIGH), e.g. 0 5.5")  # fmt: skip
    parser.add_argument("--valid-pct", type=unit_fraction, default=0.2,
                        help="fraction of ratings held out (default 0.2)")  # fmt: skip
    add_training_options(parser, epochs=5, bs=64)
    parser.set_defaults(run=run_collab)


def _text(apps: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = apps.add_parser(
        "text", parents=parents, help="a text classifier on a CSV of (text, label)",
        description="Train an AWD-LSTM text classifier from scratch on the texts of CSV.",
    )  # fmt: skip
    parser.add_argument("csv", type=Path, help="the texts, with a header row")
    parser.add_argument("--text-col", default="text", help="the text column (default 'text')")
    parser.add_argument("--label-col", default="label",
                        help="the label column (default 'label')")  # fmt: skip
    parser.add_argument("--valid-pct", type=unit_fraction, default=0.2,
                        help="fraction of texts held out for validation (default 0.2)")  # fmt: skip
    add_training_options(parser, epochs=5, bs=64)
    parser.set_defaults(run=run_text)


# ----------------------------------------------------------------------------- running
def _check_file(path: Path, what: str) -> None:
    if not path.exists():
        raise FileNotFoundError(f"no such {what}: {path}")


def _read_csv(path: Path) -> Any:
    import pandas as pd

    _check_file(path, "file")
    try:
        return pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} cannot be read as CSV: {error}") from None


def _fit(learn: Any, args: argparse.Namespace, fine_tune: bool = False) -> None:
    """Pick the LR (`--lr auto`: the finder's valley), train, write plots, export."""
    from lamina.data.loaders import target_labels

    lr = args.lr
    if lr == "auto":
        found = learn.lr_find(show_plot=False)
        lr = float(found.valley)
        print(f"lr_find picked lr={lr:.2e} (valley; steepest {found.steepest:.2e})", flush=True)
        _plot(args, "lr_find.png", found.plot)
    if fine_tune:
        learn.fine_tune(args.epochs, base_lr=lr if lr is not None else 2e-3)
    else:
        learn.fit_one_cycle(args.epochs, lr)
    _plot(args, "loss.png", learn.recorder.plot_loss)
    if target_labels(learn.dls) is not None and learn.dls.valid is not None:
        _plot(args, "confusion_matrix.png", lambda: _confusion(learn))
    path = learn.export(args.out)
    print(f"exported to {path}", flush=True)


def _plot(args: argparse.Namespace, name: str, draw: Any) -> None:
    if args.plots is None:
        return
    args.plots.mkdir(parents=True, exist_ok=True)
    figure = draw()
    figure.savefig(args.plots / name, dpi=100)
    print(f"wrote {args.plots / name}", flush=True)


def _confusion(learn: Any) -> Any:
    from lamina.data.loaders import target_labels
    from lamina.vision.interpret import ClassificationInterpretation

    preds, targs = learn.get_preds()
    losses = preds.new_zeros(len(preds))
    interp = ClassificationInterpretation(
        None, preds, targs.flatten(), losses, target_labels(learn.dls)
    )
    return interp.plot_confusion_matrix()


def _seeded(args: argparse.Namespace) -> None:
    from lamina import set_seed

    set_seed(args.seed)


def run_vision(args: argparse.Namespace) -> int:
    """`lamina train vision`."""
    from lamina import accuracy
    from lamina.vision import ImageDataLoaders, Resize, vision_learner

    _check_file(args.path, "folder")
    _seeded(args)
    split = {"train": args.train, "valid": args.valid} if args.train else {
        "valid_pct": 0.2 if args.valid_pct is None else args.valid_pct}  # fmt: skip
    dls = ImageDataLoaders.from_folder(args.path, seed=args.seed, item_tfms=Resize(args.size),
                                       bs=args.bs, **split)  # fmt: skip
    metrics = accuracy if dls.vocab is not None else None
    learn = vision_learner(dls, args.arch, pretrained=args.pretrained, metrics=metrics)
    _fit(learn, args, fine_tune=args.pretrained)
    return 0


def run_tabular(args: argparse.Namespace) -> int:
    """`lamina train tabular`."""
    from lamina.tabular import TabularDataLoaders, tabular_learner

    frame = _read_csv(args.csv)
    _seeded(args)
    dls = TabularDataLoaders.from_df(frame, y_names=args.y, cat_names=args.cat,
                                     cont_names=args.cont, valid_pct=args.valid_pct,
                                     seed=args.seed, bs=args.bs)  # fmt: skip
    metrics = "accuracy" if dls.processor.y_block == "category" else "rmse"
    _fit(tabular_learner(dls, layers=args.layers, metrics=metrics), args)
    return 0


def run_collab(args: argparse.Namespace) -> int:
    """`lamina train collab`."""
    from lamina.collab import CollabDataLoaders, collab_learner

    frame = _read_csv(args.csv)
    _seeded(args)
    dls = CollabDataLoaders.from_df(frame, user_name=args.user, item_name=args.item,
                                    rating_name=args.rating, valid_pct=args.valid_pct,
                                    seed=args.seed, bs=args.bs)  # fmt: skip
    y_range = None if args.y_range is None else tuple(args.y_range)
    _fit(collab_learner(dls, n_factors=args.factors, y_range=y_range, metrics="rmse"), args)
    return 0


def run_text(args: argparse.Namespace) -> int:
    """`lamina train text`."""
    from lamina.text import TextDataLoaders, text_classifier_learner

    frame = _read_csv(args.csv)
    _seeded(args)
    dls = TextDataLoaders.from_df(frame, text_col=args.text_col, label_col=args.label_col,
                                  valid_pct=args.valid_pct, seed=args.seed, bs=args.bs)  # fmt: skip
    _fit(text_classifier_learner(dls, "awd_lstm", metrics="accuracy"), args)
    return 0
