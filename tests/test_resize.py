"""FitOnResize without a browser: it marks the app's figures for its JavaScript, and a request from the page
has every figure of the app refitted (a Plotly.relayout with autosize sent to the browser)."""

from __future__ import annotations

import plotly.graph_objects as go

from explorer.apps.resize import FitOnResize, figures


class TwoFigures:
    def __init__(self) -> None:
        self.cost = go.FigureWidget()
        self.weights = go.FigureWidget()
        self.label = "not a figure"


def sent_relayouts(figure: go.FigureWidget, log: list) -> None:
    figure._send_relayout_msg = lambda layout, source_view_id=None: log.append((figure, layout))


def test_the_apps_figures_are_marked_for_the_page():
    app = TwoFigures()
    hook, other = FitOnResize(app), FitOnResize(TwoFigures())
    assert figures(app) == [app.cost, app.weights]
    for figure in figures(app):
        assert hook.figure_class in figure._dom_classes
    assert hook.figure_class != other.figure_class  # two apps on one page: each hook finds only its own


def test_a_request_from_the_page_refits_every_figure_of_the_app():
    app = TwoFigures()
    hook = FitOnResize(app)
    log: list = []
    for figure in figures(app):
        sent_relayouts(figure, log)
    hook._on_message(hook, {"other": True}, [])
    assert log == []
    hook._on_message(hook, {"fit": True}, [])
    assert log == [(app.cost, {"autosize": True}), (app.weights, {"autosize": True})]
    assert hook.fits == 1
