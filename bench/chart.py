"""The performance chart: verify, decide, authorizer and cold start, ours beside each peer, as ratios.

``python -m bench --png docs/performance.png`` draws it from the rows of the same run (matplotlib, from
the ``bench`` extra). Four panels share one idea: a bar is a ratio to a reference measured in the same
run, 1.0 is that reference, shorter is better. Verify, decide and authorizer bars are ratios to the
floor (cryptography's bare RSA verify of the token's signature); cold starts are ratios to
``python -c "import jwt"``. Our bars are blue, peers grey, dashed lines mark our budgets (cold start:
0.5x from a JSON policy, 0.7x from YAML).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench._rows import Row

__all__ = ["PANELS", "draw"]


@dataclass(frozen=True, slots=True)
class _Panel:
    title: str
    xlabel: str
    ours: tuple[tuple[str, str], ...]  # (row name, bar label)
    peers: tuple[tuple[str, str], ...]
    budgets: tuple[float, ...]
    log: bool = False


PANELS = (
    _Panel(
        "Verify a fresh Cognito access token",
        "x the floor (bare RSA-2048 verify)",
        (("verify, fresh token (distinct tokens, cache missing)", "cognito-authz"),),
        (
            ("authlib JsonWebToken.decode + validate", "authlib"),
            ("joserfc jwt.decode + claims registry", "joserfc"),
            ("pyjwt jwt.decode (prebuilt key)", "pyjwt"),
            ("python-jose jwt.decode", "python-jose"),
        ),
        (1.7,),
    ),
    _Panel(
        "Decide one request",
        "x the floor (log scale)",
        (
            ("decide, 10 rules", "cognito-authz, 10 rules"),
            ("decide, 1,000 rules", "cognito-authz, 1,000 rules"),
        ),
        (
            ("cedarpy is_authorized (pre-parsed), 10 rules", "cedarpy, 10 rules"),
            ("cedarpy is_authorized (pre-parsed), 1,000 rules", "cedarpy, 1,000 rules"),
            ("casbin enforce (keyMatch2), 10 rules", "casbin, 10 rules"),
            ("casbin enforce (keyMatch2), 1,000 rules", "casbin, 1,000 rules"),
        ),
        (0.25,),
        log=True,
    ),
    _Panel(
        "Whole Lambda authorizer invocation",
        "x the floor (peers: their verify alone, no policy)",
        (
            ("authorizer, REST TOKEN event (fresh tokens, distinct users)", "REST, new user"),
            ("authorizer, HTTP API 2.0 event (fresh tokens, distinct users)", "HTTP API, new user"),
            ("authorizer, REST TOKEN event (repeated token)", "REST, repeated token"),
        ),
        (
            ("joserfc jwt.decode + claims registry", "joserfc verify only"),
            ("pyjwt jwt.decode (prebuilt key)", "pyjwt verify only"),
        ),
        (2.5,),
    ),
    _Panel(
        "Cold start (fresh process, cached bytecode)",
        'x python -c "import jwt"',
        (
            ("cold start: authorizer from policy.json + bundled JWKS", "authorizer, JSON policy"),
            ("cold start: authorizer from policy.yaml + bundled JWKS", "authorizer, YAML policy"),
            ("cold start: import cognito_authz", "import cognito_authz"),
        ),
        (
            ('cold start: python -c "import jwt"', "import jwt (pyjwt)"),
            ("cold start: python-jose: from jose import jwt", "python-jose"),
            ("cold start: joserfc: from joserfc import jwt", "joserfc"),
            ("cold start: authlib: from authlib.jose import JsonWebToken", "authlib"),
        ),
        (0.5, 0.7),
    ),
)


def draw(rows: Sequence[Row], path: str, *, subtitle: str = "") -> bool:
    """Save the chart to ``path``; ``False`` (nothing written) when matplotlib is not installed."""
    try:
        import matplotlib  # type: ignore[import-not-found]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found]
    except ImportError:
        return False
    by_name = {row.name: row for row in rows}
    figure, axes_grid = plt.subplots(2, 2, figsize=(12, 7.5))
    for panel, axes in zip(PANELS, axes_grid.flat, strict=True):
        bars = [(label, by_name[name].ratio, True) for name, label in panel.ours if name in by_name]
        bars += [(label, by_name[name].ratio, False) for name, label in panel.peers if name in by_name]
        labels = [label for label, _, _ in bars][::-1]
        values = [value for _, value, _ in bars][::-1]
        colors = ["tab:blue" if ours else "tab:gray" for _, _, ours in bars][::-1]
        drawn = axes.barh(labels, values, color=colors)
        axes.bar_label(drawn, labels=[f"{value:.2f}x" for value in values], padding=3, fontsize=8)
        axes.axvline(1.0, color="black", linewidth=0.8)
        for index, budget in enumerate(panel.budgets):
            axes.axvline(budget, color="tab:blue", linestyle="--", linewidth=1)
            label = f" budget {budget:g}x" if index == 0 else f" {budget:g}x"
            axes.text(budget, -0.75, label, color="tab:blue", fontsize=8, va="bottom")
        if panel.log:
            axes.set_xscale("log")
        axes.set_xlim(right=max([*values, *panel.budgets, 1.0]) * (3 if panel.log else 1.25))
        axes.set_ylim(-0.8, len(bars) - 0.5)
        axes.set_title(panel.title, fontsize=11)
        axes.set_xlabel(panel.xlabel, fontsize=9)
        axes.tick_params(labelsize=8)
    figure.suptitle("cognito-authz (blue) beside its peers (grey): ratios from one run, shorter is better")
    if subtitle:
        figure.text(0.5, 0.005, subtitle, ha="center", fontsize=8, color="dimgray")
    figure.tight_layout(rect=(0, 0.02, 1, 0.97))
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
