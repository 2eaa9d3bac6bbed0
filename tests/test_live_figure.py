"""live.FigureWidget: a redraw report that plotly cannot merge still acknowledges the redraw (the ack gate)."""

import numpy as np
import plotly.graph_objects as go
import pytest

from explorer.apps.live import FigureWidget


def report(figure, x, edit_id=None):
    """What the browser sends after drawing an edit: a heatmap's x as plotly.js computed it (a typed
    array arrives as a dict of index -> value)."""
    uid = figure.data[0].uid
    return {"trace_deltas": [{"uid": uid, "x": x}],
            "trace_edit_id": figure._last_trace_edit_id if edit_id is None else edit_id}


@pytest.mark.parametrize("x", [np.linspace(-1, 1, 5), [-1.0, -0.5, 0.0, 0.5, 1.0]], ids=["numpy", "list"])
def test_a_report_plotly_cannot_merge_still_acknowledges_the_redraw(x):
    computed = {str(i): v for i, v in enumerate(np.linspace(-1, 1, 5))}

    plain = go.FigureWidget(go.Heatmap(x=x, z=np.zeros((2, 5))))
    plain.data[0].z = np.ones((2, 5))
    assert plain._trace_edit_in_process
    # plotly.py issue #4160, the reason for the subclass (if this stops raising, the subclass can go):
    with pytest.raises((ValueError, AssertionError)):
        plain._js2py_traceDeltas = report(plain, computed)
    assert plain._trace_edit_in_process

    figure = FigureWidget(go.Heatmap(x=x, z=np.zeros((2, 5))))
    figure.data[0].z = np.ones((2, 5))
    assert figure._trace_edit_in_process
    figure._js2py_traceDeltas = report(figure, computed)
    assert not figure._trace_edit_in_process
    assert figure._js2py_traceDeltas is None


def test_a_report_of_an_older_edit_does_not_acknowledge_the_latest():
    figure = FigureWidget(go.Heatmap(x=np.linspace(-1, 1, 5), z=np.zeros((2, 5))))
    figure.data[0].z = np.ones((2, 5))
    figure.data[0].z = np.full((2, 5), 2.0)
    figure._js2py_traceDeltas = report(figure, {"0": -1.0}, edit_id=figure._last_trace_edit_id - 1)
    assert figure._trace_edit_in_process
