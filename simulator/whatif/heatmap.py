"""The sweep's picture: recall and false hold as heatmaps, window x latency.

Rows are the windows, columns the latency combinations (one per product of
the `--latency` values). Drawn with matplotlib's Agg backend: no display is
needed and the bytes depend only on the figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["column_label", "draw_heatmap", "heat_table"]


def column_label(row: dict[str, Any]) -> str:
    return " / ".join(f"{key[len('latency_') :]} {value}" for key, value in row.items() if key.startswith("latency_"))


def heat_table(rows: list[dict[str, Any]], figure: str) -> tuple[list[str], list[str], list[list[float | None]]]:
    """(window labels, latency labels, values[window][latency]) of one figure, in the rows' order."""
    windows = list(dict.fromkeys(r["window"] for r in rows))
    columns = list(dict.fromkeys(column_label(r) for r in rows))
    values: list[list[float | None]] = [[None] * len(columns) for _ in windows]
    for r in rows:
        values[windows.index(r["window"])][columns.index(column_label(r))] = r.get(figure)
    return windows, columns, values


def draw_heatmap(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Names are text, never math: a segment called `cart$\foo$` is drawn as written.
    with matplotlib.rc_context({"text.parse_math": False}):
        _draw(plt, rows, path, title)


def _draw(plt: Any, rows: list[dict[str, Any]], path: Path, title: str) -> None:
    panels = (("recall", "Greens", "recall (higher is better)"), ("false_hold", "Reds", "false hold (lower is better)"))
    windows, columns, _ = heat_table(rows, "recall")
    width = max(7.0, 2.2 + 1.3 * len(columns)) * 2
    height = max(3.0, 1.6 + 0.55 * len(windows))
    fig, axes = plt.subplots(1, 2, figsize=(min(width, 30.0), height), squeeze=False)
    for ax, (figure, cmap, label) in zip(axes[0], panels, strict=True):
        _, _, values = heat_table(rows, figure)
        grid = [[float("nan") if v is None else float(v) for v in line] for line in values]
        image = ax.imshow(grid, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_title(label)
        ax.set_xticks(range(len(columns)))
        ax.set_xticklabels(columns, rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(len(windows)))
        ax.set_yticklabels(windows)
        ax.set_ylabel("window")
        ax.set_xlabel("latency")
        for i, line in enumerate(values):
            for j, v in enumerate(line):
                text = "n/a" if v is None else f"{v:.2f}"
                dark = v is not None and v > 0.6
                ax.text(j, i, text, ha="center", va="center", fontsize=9, color="white" if dark else "black")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
