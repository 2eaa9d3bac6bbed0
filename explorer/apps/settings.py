"""A demo's settings: the controls that its share link sets and its export records, under public keys.

Every demo declares them in one method, in the order a link lists them:

    def settings(self) -> dict[str, widgets.ValueWidget]:
        return {"init": self.init, "seed": self.seed}

A key is public: it is a word of every link people have saved (`?demo=three-layer&init=zero&seed=3`) and a
field of every exported JSON file. Never change a key; the attribute behind it may be renamed freely.
The dashboard lets a link set each declared control whose values a link can carry (a choice, a number, a
checkbox: explorer.apps.dashboard.control_spec); free text, such as a list of widths, is only exported.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets


def settings(app: Any) -> dict[str, widgets.ValueWidget]:
    """The controls an app declares, by public key ({} for an app that declares none, or for None)."""
    declare = getattr(app, "settings", None)
    return dict(declare()) if callable(declare) else {}
