"""Bad input gets a clear message: every public function of the package, one row per bad call.

The list of public functions is read from the package itself (every module explorer/*.py, see `public()`):
a new public function with no row here fails test_the_table_covers_every_public_function, unless it is in
EXEMPT with the reason it takes no bad input of its own.

Each row is (call, error, parts): the call as it would be typed, the exception it must raise, and the parts
its message must contain, as a rule the argument's name, the value given and what is allowed. The names
used in the calls (net, X, Y, trainer, FILES, ...) are defined in NAMES below.

Print the table with the messages the package gives today (markdown, for the issue's closing note):

    .venv/bin/python tests/test_bad_input.py
"""

from __future__ import annotations

import ast
import atexit
import gzip
import importlib
import inspect
import os
import pkgutil
import shutil
import tempfile

import numpy as np
import plotly.graph_objects as go
import pytest

import explorer
from explorer import (
    activations,
    checks,
    datasets,
    export,
    isometry,
    mup,
    reproductions,
    residual,
    share,
    sweep,
    theory,
)
from explorer import initializers as init
from explorer.network import Network, activate, activation_derivative, loss, loss_and_grad, output_activation
from explorer.training import History, Trainer, histogram_counts

NAN, INF = float("nan"), float("inf")

ROWS: list[tuple[str, type[Exception], tuple[str, ...]]] = [
    # -- the shared checks and records ----------------------------------------------------------------
    ("checks.count('steps', -1)", ValueError, ("steps=-1", "non-negative integer")),
    ("checks.count('depth', 0, 1, 1000)", ValueError, ("depth=0", "from 1 to 1,000")),
    ("checks.count('width', 3.0)", ValueError, ("width=3.0", "integer")),
    ("checks.count('models', True, 1)", ValueError, ("models=True", "positive integer")),
    ("checks.seed(-2)", ValueError, ("seed=-2", "non-negative integer")),
    ("checks.batch_size(0, 10)", ValueError, ("batch_size=0", "None (full batch) or a positive integer")),
    ("checks.batch_size(2.5, 10)", ValueError, ("batch_size=2.5", "positive integer")),
    ("checks.seed('7')", ValueError, ("seed='7'", "non-negative integer")),
    ("activations.get('swish')", ValueError, ("'swish'", "valid", "relu", "tanh")),
    ("activations.get(None)", ValueError, ("None", "valid")),
    # -- initializers -----------------------------------------------------------------------------
    ("init.variance_scaling(scale=-1.0)", ValueError, ("scale", "-1.0", "> 0")),
    ("init.variance_scaling(scale=0)", ValueError, ("scale", "0.0", "> 0", "zeros()")),
    ("init.variance_scaling(scale=NAN)", ValueError, ("scale", "nan", "finite")),
    ("init.variance_scaling(scale='2')", TypeError, ("scale", "'2'", "real number")),
    ("init.variance_scaling(mode='fan_sum')", ValueError, ("mode", "'fan_sum'", "fan_in, fan_out, fan_avg")),
    ("init.variance_scaling(distribution='gaussian')", ValueError,
     ("distribution", "'gaussian'", "normal, truncated_normal, uniform")),
    ("init.normal(std=0)", ValueError, ("std", "0.0", "> 0")),
    ("init.normal(std=1e300)", ValueError, ("std", "1e+300", "at most 1e+100")),
    ("init.normal(mean=INF)", ValueError, ("mean", "inf", "finite")),
    ("init.uniform(limit=-1)", ValueError, ("limit", "-1.0", "> 0")),
    ("init.constant(NAN)", ValueError, ("value", "nan", "finite")),
    ("init.xavier_normal(gain=0)", ValueError, ("gain", "0.0", "> 0")),
    ("init.xavier_uniform(gain=-1)", ValueError, ("gain", "-1.0", "> 0")),
    ("init.he_normal(mode='fan_avg')", ValueError, ("mode", "'fan_avg'", "fan_in, fan_out")),
    ("init.he_uniform(nonlinearity='gelu')", ValueError, ("nonlinearity", "'gelu'", "relu, leaky_relu")),
    ("init.gain('ReLU')", ValueError, ("nonlinearity", "'ReLU'", "relu")),
    ("init.gain('leaky_relu', param=NAN)", ValueError, ("param", "nan", "finite")),
    ("init.orthogonal(gain=INF)", ValueError, ("gain", "inf", "finite")),
    ("init.identity(gain=-1.5)", ValueError, ("gain", "-1.5", "> 0")),
    ("init.get('kaiming')", ValueError, ("name", "'kaiming'", "he_normal", "kaiming_normal")),
    ("init.get(None)", TypeError, ("name", "None", "he_normal")),
    ("init.get('he_normal', gain=2)", TypeError, ("he_normal", "gain=2", "mode, nonlinearity, param")),
    ("init.he_normal()(rng, (3, 0))", ValueError, ("shape", "(3, 0)", "positive ints")),
    ("init.he_normal()(rng, (2, 3, 4))", ValueError, ("shape", "(2, 3, 4)", "1 or 2")),
    ("init.he_normal()(0, (3, 2))", TypeError, ("rng", "numpy.random.Generator", "int")),
    ("init.he_normal()(rng, (100_000, 100_000))", ValueError,
     ("shape=(100000, 100000)", "10,000,000,000 weights", "at most 50,000,000")),
    ("init.orthogonal()(rng, (5,))", ValueError, ("shape", "(5,)", "2-D")),
    ("init.he_normal().variance('3x2')", ValueError, ("shape", "'3x2'", "tuple")),
    ("init.lsuv(net, X_nan)", ValueError, ("X", "NaN")),
    ("init.lsuv(net, X, tol=0)", ValueError, ("tol", "0", "> 0")),
    ("init.lsuv('net', X)", TypeError, ("net", "forward(X)", "str")),
    # -- datasets ---------------------------------------------------------------------------------
    ("datasets.toy('spirals')", ValueError, ("dataset='spirals'", "circles, spiral, xor, gaussians, moons")),
    ("datasets.toy('circles', n=1)", ValueError, ("n=1", "from 2 to 1,000,000")),
    ("datasets.toy('circles', n=300.0)", ValueError, ("n=300.0", "integer")),
    ("datasets.toy('circles', noise=-0.1)", ValueError, ("noise=-0.1", "from 0 to 100")),
    ("datasets.toy('circles', noise=NAN)", ValueError, ("noise=nan", "finite")),
    ("datasets.toy('circles', seed=-1)", ValueError, ("seed=-1", "non-negative integer")),
    ("datasets.grid(np.zeros((5, 3)))", ValueError, ("X has shape (5, 3)", "(m, 2)")),
    ("datasets.grid(np.array([[0.0, NAN]]))", ValueError, ("X", "NaN")),
    ("datasets.grid(points, resolution=1)", ValueError, ("resolution=1", "from 2 to 1000")),
    ("datasets.grid(points, margin=-1)", ValueError, ("margin=-1", "from 0 to 10")),
    ("datasets.mnist(FILES['missing'])", FileNotFoundError, ("no-such-folder", "does not exist")),
    ("datasets.mnist(FILES['empty'])", FileNotFoundError, ("train-images-idx3-ubyte", "not found")),
    ("datasets.mnist(3)", TypeError, ("path=3", "str or pathlib.Path")),
    ("datasets.mnist(FILES['junk.npz'])", ValueError, ("junk.npz", "not an .npz file")),
    ("datasets.mnist(FILES['partial.npz'])", ValueError, ("partial.npz", "lacks x_test, y_test")),
    ("datasets.mnist(FILES['labels.npz'])", ValueError, ("labels", "0 to 9", "12")),
    ("datasets.mnist(FILES['nan.npz'])", ValueError, ("images", "NaN")),
    ("datasets.read_idx(FILES['truncated'])", ValueError, ("truncated", "72 data bytes", "expected 80")),
    ("datasets.read_idx(FILES['padded'])", ValueError, ("padded", "expected 80")),
    ("datasets.read_idx(FILES['not-idx'])", ValueError, ("not-idx", "not an IDX file", "magic number")),
    ("datasets.read_idx(FILES['short-header'])", ValueError, ("short-header", "header is incomplete")),
    ("datasets.read_idx(FILES['broken.gz'])", ValueError, ("broken.gz", "could not be read as IDX")),
    ("datasets.read_idx(FILES['huge.gz'])", ValueError, ("huge.gz", "(60000, 60000, 60000)", "at most 2,000 MB")),
    ("datasets.write_idx(FILES['out'], np.array([300]))", ValueError, ("array", "from 0 to 255")),
    ("datasets.train_test_split(data, test_fraction=1.0)", ValueError, ("test_fraction=1.0", "between 0 and 1")),
    ("datasets.train_test_split(data, test_fraction=0.0001)", ValueError, ("test_fraction=0.0001", "empty")),
    ("datasets.train_test_split(np.zeros((3, 2)))", TypeError, ("data", "Dataset", "ndarray")),
    ("datasets.Standardizer.fit(np.array([[1.0, NAN]]))", ValueError, ("X", "NaN")),
    ("datasets.standardize(np.zeros((3, 2)), np.zeros((3, 3)))", ValueError, ("X has shape (3, 3)", "(m, 2)")),
    ("datasets.Dataset(np.zeros((3, 2)), np.zeros(4), 'x')", ValueError, ("X has shape (3, 2)", "y (4,)", "(m,)")),
    # -- theory -----------------------------------------------------------------------------------
    ("theory.propagate_variance([784, 0, 10], 0.01)", ValueError, ("sizes=[784, 0, 10]", "positive integer", "0")),
    ("theory.propagate_variance([10], 0.1)", ValueError, ("sizes has 1 widths", "from 2")),
    ("theory.propagate_variance([10] * 20_000, 0.1)", ValueError, ("sizes has 20000 widths", "10,001")),
    ("theory.propagate_variance([10, 10, 10], [0.1, 0.1, 0.1])", ValueError,
     ("weight_var=[0.1, 0.1, 0.1]", "one per layer (2)")),
    ("theory.propagate_variance([10, 10], -0.1)", ValueError, ("weight_var=-0.1", ">= 0")),
    ("theory.propagate_variance([10, 10], 0.1, activation='gelu')", ValueError,
     ("activation='gelu'", "linear, tanh, relu")),
    ("theory.propagate_variance([10, 10], 0.1, input_second_moment=NAN)", ValueError,
     ("input_second_moment=nan", "finite")),
    ("theory.propagate_variance([10, 10], 0.1, bias_var=-1)", ValueError, ("bias_var=-1", ">= 0")),
    ("theory.weight_variances('he_normal', [10, 10])", TypeError, ("init='he_normal'", "initializer")),
    ("theory.weight_variances(init.identity(), [10, 10])", ValueError, ("init=identity(gain=1.0)", "not random")),
    ("theory.measure_variances([1024] * 101, init.he_normal())", ValueError, ("5,880 MB", "at most 500 MB")),
    ("theory.measure_variances([10, 10], init.he_normal(), examples=0)", ValueError,
     ("examples=0", "from 1 to 1,000,000")),
    ("theory.measure_variances([10, 10], init.he_normal(), input_std=0)", ValueError, ("input_std=0", "> 0")),
    ("theory.measure_variances([10, 10], init.he_normal(), activation='softmax')", ValueError,
     ("activation='softmax'", "linear, relu, leaky_relu, tanh, sigmoid")),
    ("theory.measure_variances([10, 10], 42)", TypeError, ("init=42", "initializer")),
    ("theory.chain_scales(1.5, L=1)", ValueError, ("L=1", "from 2 to 10,000")),
    ("theory.chain_scales(INF, L=10)", ValueError, ("gain=inf", "finite")),
    ("theory.layer_gain(0, 0.1)", ValueError, ("fan_in=0", "from 1")),
    ("theory.rms([1, 2], [1, 2, 3])", ValueError, ("mean has shape (2,)", "std has shape (3,)")),
    ("theory.matched([1, 2], [1, 2], at=5)", ValueError, ("at=5", "2 layers")),
    # -- theory: mean field -----------------------------------------------------------------------
    ("theory.hermite_nodes(0)", ValueError, ("points=0", "from 2 to 150")),
    ("theory.gaussian_mean(np.tanh, -1.0)", ValueError, ("q=-1.0", "variance", ">= 0")),
    ("theory.gaussian_pair_mean(np.tanh, np.tanh, 1.0, 2.0)", ValueError, ("c=2.0", "from -1 to 1")),
    ("theory.length_map(-1.0, 1.0, 0.05)", ValueError, ("q=-1.0", "variance")),
    ("theory.length_map(1.0, NAN, 0.05)", ValueError, ("sigma_w2=nan", "finite")),
    ("theory.length_fixed_point(1.0, NAN)", ValueError, ("sigma_b2=nan", "finite")),
    ("theory.correlation_map(2.0, 1.0, 0.05)", ValueError, ("c=2.0", "from -1 to 1")),
    ("theory.chi_1(1.0, 0.05, activation='gelu')", ValueError, ("activation='gelu'", "tanh, relu, linear")),
    ("theory.correlation_fixed_point(NAN, 0.05)", ValueError, ("sigma_w2=nan", "finite")),
    ("theory.mean_field(-1.0, 0.05)", ValueError, ("sigma_w2=-1.0", "from 0.0")),
    ("theory.critical_sigma_w2(0.05, low=5, high=1)", ValueError, ("low=5", "high=1", "0 < low < high")),
    ("theory.phase_diagram([], [0.05])", ValueError, ("0 x 1 points",)),
    ("theory.propagate_correlation(1.0, 1.5, 5, 1.0, 0.05)", ValueError, ("c0=1.5", "from -1.0 to 1.0")),
    ("theory.measure_correlations(1.0, 0.05, width=0)", ValueError, ("width=0", "from 2 to 4,096")),
    # -- network ----------------------------------------------------------------------------------
    ("Network([2])", ValueError, ("sizes=[2]", "input and an output")),
    ("Network([2, 0, 1])", ValueError, ("sizes=[2, 0, 1]", "positive integer", "0")),
    ("Network(5)", TypeError, ("sizes=5", "list of layer widths")),
    ("Network([2] * 20_000)", ValueError, ("sizes", "19,999", "at most")),
    ("Network([2, 100_000, 100_000, 1])", ValueError, ("sizes=[2, 100000, 100000, 1]", "MB", "at most 50,000,000")),
    ("Network([2, 3, 1], hidden='gelu')", ValueError, ("'gelu'", "linear, relu, leaky_relu, tanh, sigmoid")),
    ("Network([2, 3, 1], hidden=['relu', 'tanh'])", ValueError, ("hidden=['relu', 'tanh']", "1 hidden layers")),
    ("Network([2, 3, 1], output='softplus')", ValueError, ("output='softplus'", "sigmoid, softmax, linear")),
    ("Network([2, 3, 1], init='kaiming')", ValueError, ("init='kaiming'", "he_normal")),
    ("Network([2, 3, 1], bias_init='nope')", ValueError, ("bias_init='nope'", "zeros")),
    ("Network([2, 3, 1], init=3.5)", TypeError, ("init=3.5",)),
    ("Network([2, 3, 1], seed=-1)", ValueError, ("seed=-1", "non-negative integer")),
    ("Network([2, 3, 1], init=['he_normal'] * 3, seed=[0, 1])", ValueError, ("seed has 2 entries", "3 models")),
    ("Network([2, 3, 1], dtype='float16')", ValueError, ("dtype='float16'", "float32, float64")),
    ("Network([2, 3, 1], dtype='banana')", ValueError, ("dtype='banana'", "float32, float64")),
    ("net.forward(np.zeros((5, 3)))", ValueError, ("X has shape (5, 3)", "(m, 2)")),
    ("net.forward(np.zeros((0, 2)))", ValueError, ("X has no rows",)),
    ("net.predict(X_nan)", ValueError, ("X", "NaN")),
    ("net.backward(net.forward(X), np.zeros((4, 1)))", ValueError, ("Y has shape (4, 1)", "(5, 1)")),
    ("net.cost(X, Y_nan)", ValueError, ("Y", "NaN")),
    ("net3.cost(X, np.array([0, 1, 2, 3, 0]))", ValueError, ("labels outside 0..2",)),
    ("net.accuracy(net.predict(X), np.zeros((4, 1)))", ValueError, ("Y has shape (4, 1)", "(5, 1)")),
    ("activate('gelu', z)", ValueError, ("activation='gelu'", "relu")),
    ("activation_derivative('swish', z, z)", ValueError, ("activation='swish'", "relu")),
    ("loss_and_grad('hinge', z, z)", ValueError, ("output='hinge'", "sigmoid, softmax, linear")),
    ("loss('hinge', z, z)", ValueError, ("output='hinge'", "sigmoid, softmax, linear")),
    ("output_activation('hinge', z)", ValueError, ("output='hinge'", "sigmoid, softmax, linear")),
    # -- training ---------------------------------------------------------------------------------
    ("Trainer('net', X, Y)", TypeError, ("net='net'", "Network")),
    ("Trainer(net, X, Y, lr=0)", ValueError, ("lr=0", "positive finite")),
    ("Trainer(net, X, Y, lr=NAN)", ValueError, ("lr=nan", "positive finite")),
    ("Trainer(net, X, Y, lr=[0.1, 0.2])", ValueError, ("lr=[0.1, 0.2]", "one per model (1)")),
    ("Trainer(net, X, Y, lr='fast')", TypeError, ("lr='fast'", "number")),
    ("Trainer(net, X, Y, optimizer='rmsprop')", ValueError, ("optimizer='rmsprop'", "sgd, momentum, adam")),
    ("Trainer(net, X, Y, momentum=1.0)", ValueError, ("momentum=1.0", "[0, 1)")),
    ("Trainer(net, X, Y, batch_size=0)", ValueError, ("batch_size=0", "positive integer")),
    ("Trainer(net, X, Y, diverge_above=NAN)", ValueError, ("diverge_above=nan", "positive")),
    ("Trainer(net, X_nan, Y)", ValueError, ("X", "NaN")),
    ("Trainer(net, X, Y_nan)", ValueError, ("Y", "NaN")),
    ("Trainer(net, X, Y[:3])", ValueError, ("Y has shape (3, 1)", "(5, 1)")),
    ("Trainer(net, X, Y, act_bins=[1.0, 0.0])", ValueError, ("act_bins", "increasing")),
    ("Trainer(net, X, Y, probe=np.zeros((4, 3)))", ValueError, ("probe", "(4, 3)", "(m, 2)")),
    ("Trainer(net, X, Y, evaluate={'test': (X, Y[:2])})", ValueError, ("evaluate['test']", "(2, 1)", "(5, 1)")),
    ("Trainer(net, X, Y, evaluate={'test': (X, Y_nan)})", ValueError, ("evaluate['test']", "NaN")),
    ("Trainer(net, X, Y, seed=-1)", ValueError, ("seed=-1", "non-negative integer")),
    ("Trainer(net, X, Y, blas_threads=0)", ValueError, ("blas_threads=0", "positive integer")),
    ("trainer.snapshots(every=0)", ValueError, ("every=0", "positive integer")),
    ("trainer.run(steps=-1)", ValueError, ("steps=-1", "non-negative integer")),
    ("trainer.run(steps=2.5)", ValueError, ("steps=2.5", "integer")),
    ("History(1, max_points=2)", ValueError, ("max_points=2", ">= 4")),
    ("History(0)", ValueError, ("models=0", "positive integer")),
    ("History(1).append(0, [1.0, 2.0])", ValueError, ("values", "2", "1 model")),
    ("histogram_counts(np.zeros((2, 5)), np.array([1.0, 0.0]))", ValueError, ("edges", "increasing")),
    # -- sweep ------------------------------------------------------------------------------------
    ("sweep.cache_directory(3)", TypeError, ("path=3", "os.PathLike")),
    ("sweep.cache_key('trainability', 5)", TypeError, ("config=5", "mapping")),
    ("sweep.cache_key('trainability', {'lr': NAN})", ValueError, ("config=", "JSON values", "finite")),
    ("sweep.cache_paths('../x', {})", ValueError, ("kind='../x'", "letters, digits")),
    ("sweep.load('trainability', 5)", TypeError, ("config=5", "mapping")),
    ("sweep.save('trainability', {}, 5, directory=FILES['empty'])", TypeError, ("arrays=5", "mapping")),
    ("sweep.TrainabilityConfig(width=0)", ValueError, ("width=0", "from 1 to 2,048")),
    ("sweep.task_data('digits')", TypeError, ("config='digits'", "TrainabilityConfig")),
    ("sweep.model_seeds(sweep.TrainabilityConfig(), -1)", ValueError, ("depth=-1", "from 1 to 500")),
    ("sweep.train_depth(sweep.TrainabilityConfig(), 0)", ValueError, ("depth=0", "from 1 to 500")),
    ("sweep.trainability_map('digits')", TypeError, ("config='digits'", "TrainabilityConfig")),
    ("sweep.trainability_map(n_jobs=0, cache=False)", ValueError, ("n_jobs=0", "positive integer")),
    ("sweep.cached_trainability_map({'depths': [2]})", TypeError, ("config={'depths': [2]}", "TrainabilityConfig")),
    ("sweep.run_depths(None)", TypeError, ("config=None", "TrainabilityConfig")),
    ("sweep.xi_c_line(sweep.TrainabilityConfig(), factor=-1)", ValueError, ("factor=-1", "positive")),
    # -- share ------------------------------------------------------------------------------------
    ("share.shown(3)", TypeError, ("text=3", "str")),
    ("share.parse_query(3)", TypeError, ("query=3", "str")),
    ("share.coerce('seed', '3', 'int')", TypeError, ("control='int'", "Control")),
    ("share.coerce('seed', '1.5', share.Control('int', low=0, high=10))", ValueError,
     ("seed='1.5'", "whole number", "from 0 to 10")),
    ("share.format_value(NAN)", ValueError, ("value=nan", "finite")),
    ("share.format_value(object())", TypeError, ("object", "true/false, a number or a text")),
    ("share.make_query('', {})", ValueError, ("demo=''", "name a demo")),
    ("share.make_query('three-layer', 3)", TypeError, ("values=3", "mapping")),
    ("share.slug(3)", TypeError, ("module=3", "str")),
    ("share.choose_demo('zoo', 'zoo')", TypeError, ("modules='zoo'", "list of module names")),
    ("share.Control('float', low=2, high=1)", ValueError, ("low=2", "high=1")),
    # -- export -----------------------------------------------------------------------------------
    ("export.plain(object())", TypeError, ("no JSON form", "object")),
    ("export.column_names(-1, None)", ValueError, ("width=-1", "non-negative integer")),
    ("export.history_csv(3)", TypeError, ("histories=3", "mapping")),
    ("export.history_csv({'cost': 3})", TypeError, ("histories['cost']", "History", "int")),
    ("export.snapshot_summary(3)", TypeError, ("snapshot=3", "Snapshot")),
    ("export.run_record(config=3)", TypeError, ("config=3", "mapping")),
    ("export.run_record(labels='he')", TypeError, ("labels='he'", "list of names")),
    ("export.record_json(3)", TypeError, ("record=3", "mapping")),
    ("export.save_run(3, {})", TypeError, ("path=3", "os.PathLike")),
    ("export.records_csv(3)", TypeError, ("record=3", "mapping")),
    ("export.figure_html(3)", TypeError, ("figure=3", "plotly figure")),
    ("export.figure_png(3)", TypeError, ("figure=3", "plotly figure")),
    ("export.figure_png(figure, width=-1)", ValueError, ("width=-1", "from 10 to 10,000")),
    ("export.save_figure(3, FILES['out'] + '.html')", TypeError, ("figure=3", "plotly figure")),
    ("export.save_figure(figure, FILES['out'] + '.docx')", ValueError, ("out.docx", "must end in .html or .png")),
    # -- reproductions ----------------------------------------------------------------------------
    ("reproductions.one_blas_thread(3)", TypeError, ("function=3", "callable")),
    ("reproductions.zoo_initializer('kaiming', 'tanh')", ValueError, ("start='kaiming'", "orthogonal, identity")),
    ("reproductions.zoo_network([4, 3], 'tanh', 'linear', np.zeros((5, 3)))", ValueError,
     ("X has shape (5, 3)", "(m, 4)")),
    ("reproductions.digits_inputs(0)", ValueError, ("m=0", "from 1 to 1,797")),
    ("reproductions.glorot_initializer('uniform')", ValueError, ("name='uniform'", "standard, normalized")),
    ("reproductions.glorot_bengio(hidden_layers=0)", ValueError, ("hidden_layers=0", "from 1 to 100")),
    ("reproductions.he_plain_relu(depth=1)", ValueError, ("depth=1", "from 2 to 500")),
    ("reproductions.cs231n_tanh(bins=0)", ValueError, ("bins=0", "from 2 to 1,000")),
    # -- width transfer (mup) ---------------------------------------------------------------------
    ("Trainer(net, X, Y, lr_scale=np.ones(3))", ValueError, ("lr_scale has shape (3,)", "one factor per entry")),
    ("Trainer(net, X, Y, lr_scale=-np.ones(net.params.size))", ValueError, ("lr_scale", "finite factors >= 0")),
    ("mup.mlp_sizes(64, 0, 10)", ValueError, ("width=0", "from 1 to 4,096")),
    ("mup.scalings('ntk', [64, 128, 10])", ValueError, ("parametrization='ntk'", "sp, mup")),
    ("mup.scalings('mup', [64, 128, 256, 10])", ValueError, ("sizes=[64, 128, 256, 10]", "one width")),
    ("mup.network('mup', [64, 128, 10], optimizer='lamb')", ValueError, ("optimizer='lamb'", "sgd, adam")),
    ("mup.digits_task(examples=1)", ValueError, ("examples=1", "from 2 to 1,797")),
    ("mup.TransferConfig(widths=(64, 0))", ValueError, ("every width=0", "from 1 to 4,096")),
    ("mup.TransferConfig(log2_lr=(NAN,))", ValueError, ("log2_lr", "nan", "from -30 to 10")),
    ("mup.WidthRun(mup.TransferConfig(), 'ntk', 64)", ValueError, ("parametrization='ntk'", "sp, mup")),
    ("mup.train_width('digits', 'sp', 64)", TypeError, ("config='digits'", "TransferConfig")),
    ("mup.TransferSweep(chunk_steps=0, cache=False)", ValueError, ("chunk_steps=0", "positive integer")),
    ("mup.transfer_sweep(n_jobs=0, cache=False)", ValueError, ("n_jobs=0", "positive integer")),
    ("mup.cached_transfer_sweep(None)", TypeError, ("config=None", "TransferConfig")),
    ("mup.expected_slopes('ntk')", ValueError, ("parametrization='ntk'", "sp, mup")),
    ("mup.layer_names(0)", ValueError, ("hidden_layers=0", "from 1 to 20")),
    ("mup.coordinate_check('sp', widths=[64])", ValueError, ("widths=[64]", "at least two widths")),
    # -- residual networks ------------------------------------------------------------------------
    ("residual.ResidualNet(64, 32, 0, 10)", ValueError, ("depth=0", "from 1 to 500")),
    ("residual.ResidualNet(64, 32, 10, 10, starts='resnet')", ValueError, ("start='resnet'", "fixup", "skipinit")),
    ("residual.ResidualNet(64, 32, 10, 10, branch_layers=3)", ValueError, ("branch_layers=3", "from 1 to 2")),
    ("residual.ResidualNet(2, 4, 2, 1, output='linear')", ValueError, ("output='linear'", "softmax, sigmoid")),
    ("residual.ResidualNet(2, 4, 2, 10, starts=['fixup', 'plain_he'], seed=[1, 2, 3])", ValueError,
     ("starts has 2", "seed 3")),
    ("residual.ResidualTrainer(net, X, Y)", TypeError, ("net=", "ResidualNet")),
    ("residual.ResidualTrainer(residual.ResidualNet(2, 4, 2, 1, output='sigmoid'), X, Y, lr=0)", ValueError,
     ("lr=0", "positive")),
    ("residual.ResidualTrainer(residual.ResidualNet(2, 4, 2, 1, output='sigmoid'), X, Y + 5)", ValueError,
     ("y must be 5 integer labels", "from 0 to 1")),
    ("residual.measure_residual(['fixup'], 16, 4, draws=0)", ValueError, ("draws=0", "from 1 to 1,000")),
    ("residual.digits_task(1)", ValueError, ("examples=1", "from 2 to 1,797")),
    ("residual.DepthSweepConfig(depths=(0,))", ValueError, ("every depth=0", "from 1 to 500")),
    ("residual.train_depth(residual.DepthSweepConfig(), 0)", ValueError, ("depth=0", "from 1 to 500")),
    ("residual.depth_sweep(3)", TypeError, ("config=3", "DepthSweepConfig")),
    ("residual.cached_depth_sweep(3)", TypeError, ("config=3", "DepthSweepConfig")),
    ("theory.residual.branch_gain([1.0, 2.0, 3.0], 8)", ValueError,
     ("weight_variances=[1.0, 2.0, 3.0]", "one or two")),
    ("theory.residual.predict_residual(10, 1.0, 1.0, norm='group')", ValueError,
     ("norm='group'", "none, layer, batch")),
    # -- isometry ---------------------------------------------------------------------------------
    ("isometry.critical_point('sigmoid')", ValueError, ("activation='sigmoid'", "linear, tanh, relu")),
    ("isometry.critical_point('tanh', 0)", ValueError, ("q_star=0", "from 1e-06 to 100")),
    ("isometry.critical_point('tanh', '1/64')", TypeError, ("q_star='1/64'", "number")),
    ("isometry.predicted_variance('tanh', 'uniform', 4)", ValueError, ("weights='uniform'", "gaussian, orthogonal")),
    ("isometry.predicted_variance('tanh', 'gaussian', -1)", ValueError, ("depth=", ">= 0")),
    ("isometry.linear_gaussian_moments(4, 0)", ValueError, ("width=0", "from 1 to 1,000,000,000")),
    ("isometry.linear_gaussian_moments(4, 8, sigma_w2=-1)", ValueError, ("sigma_w2=-1", "above 0")),
    ("isometry.weight_initializer('he', 2.0)", ValueError, ("weights='he'", "gaussian, orthogonal")),
    ("isometry.bias_initializer(-1.0)", ValueError, ("sigma_b2=-1.0", "from 0 to 100")),
    ("isometry.JacobianWalk('tanh', 'gaussian', 0)", ValueError, ("width=0", "from 1 to 1,000")),
    ("isometry.spectra('tanh', 'gaussian', 8, [0])", ValueError, ("depths=0", "from 1 to 1,000")),
    ("isometry.scan('tanh', 'gaussian', 8, 0)", ValueError, ("depth=0", "from 1 to 1,000")),
    ("isometry.scan_depths(2_000)", ValueError, ("depth=2000", "from 1 to 1,000")),
    ("isometry.log_density(np.zeros(0), np.arange(3))", ValueError, ("values", "non-empty")),
    ("isometry.spectrum_variance(np.zeros((2, 2)))", ValueError, ("values", "1-D", "(2, 2)")),
    ("isometry.comparison_data(q_star=-1)", ValueError, ("q_star=-1", "from 1e-06 to 100")),
    ("isometry.comparison_network(64, 10, 0, 8)", ValueError, ("depth=0", "from 1 to 1,000")),
]

# Public functions and classes that have no row, each with the reason: they take no arguments, they are built
# by the package and handed back (never called with a user's values), or they run inside the training step on
# arrays that Network and Trainer have already checked (a check there would cost time at every step).
NO_ARGUMENTS = "takes no arguments"
BUILT_BY_THE_PACKAGE = "a result or a part that the package builds and returns"
INNER_LOOP = "runs inside every training step, on arrays Network and Trainer have checked"
EXEMPT = {
    "initializers.zeros": NO_ARGUMENTS,
    "initializers.lecun_normal": NO_ARGUMENTS,
    "initializers.lecun_uniform": NO_ARGUMENTS,
    "datasets.digits": NO_ARGUMENTS,
    "initializers.Initializer": "the base class: each initializer that derives from it has its rows",
    "export.ExportError": "an exception the package raises",
    "checks.is_count": "a yes-or-no question about any value: every value is an answerable input",
    "checks.allowed_counts": "words for the bounds the package passes to checks.count (the rows of count check them)",
    **{name: BUILT_BY_THE_PACKAGE for name in (
        "initializers.LSUVLayer", "datasets.Grid", "theory.variance.VariancePrediction",
        "theory.variance.VarianceMeasurement", "theory.variance.ChainScales", "theory.meanfield.MeanField",
        "theory.meanfield.PhaseDiagram", "theory.meanfield.CorrelationMeasurement", "activations.Activation",
        "activations.MeanFieldForms", "starts.Start",
        "network.Forward", "network.Backward", "network.Workspace", "training.SGD", "training.Adam",
        "training.Snapshot", "sweep.TrainabilityMap", "reproductions.ZooStart", "reproductions.GlorotBengio",
        "reproductions.PlainReLU", "reproductions.TanhStack", "mup.LayerScaling", "mup.TransferResult",
        "mup.CoordinateCheck")},
    **{name: INNER_LOOP for name in (
        "activations.sigmoid", "network.softmax", "network.logit_scale", "network.logit_gradient",
        "network.fraction_right", "network.cost_bound", "network.output_gradient")},
    **{name: BUILT_BY_THE_PACKAGE for name in (
        "residual.ResidualStart", "residual.ResidualPass", "residual.ResidualSnapshot", "residual.ResidualMeasurement",
        "residual.DepthSweep", "residual.SweepProgress", "theory.residual.ResidualPrediction")},
    **{name: INNER_LOOP for name in ("residual.normalize", "residual.normalize_backward")},
}


# ---------------------------------------------------------------------------------------------
# What the calls refer to.


def _write_files(folder: str) -> dict[str, str]:
    """Broken MNIST-like files: a missing folder, an empty one, bad .npz archives, bad IDX files."""
    path = {name: os.path.join(folder, name) for name in (
        "missing", "empty", "junk.npz", "partial.npz", "labels.npz", "nan.npz", "truncated", "padded",
        "not-idx", "short-header", "broken.gz", "huge.gz", "out")}
    path["missing"] = os.path.join(folder, "no-such-folder")
    os.mkdir(path["empty"])
    with open(path["junk.npz"], "wb") as f:
        f.write(b"this is not a zip archive")
    images, labels = np.zeros((3, 4, 4), np.uint8), np.array([0, 1, 2])
    np.savez(path["partial.npz"], x_train=images, y_train=labels)
    np.savez(path["labels.npz"], x_train=images, y_train=np.array([0, 1, 12]), x_test=images, y_test=labels)
    np.savez(path["nan.npz"], x_train=np.full((3, 4), NAN), y_train=labels, x_test=images, y_test=labels)
    datasets.write_idx(path["padded"], np.zeros((5, 4, 4)))  # 80 data bytes ...
    with open(path["padded"], "rb") as f:
        good = f.read()
    with open(path["truncated"], "wb") as f:
        f.write(good[:-8])  # ... 72 of them
    with open(path["padded"], "ab") as f:
        f.write(b"\0" * 8)  # ... 88 of them
    with open(path["not-idx"], "wb") as f:
        f.write(b"P5 28 28 255\n")  # a PGM image
    with open(path["short-header"], "wb") as f:
        f.write(bytes([0, 0, 0x08, 3, 0, 0]))  # promises 3 sizes, holds half of one
    with open(path["broken.gz"], "wb") as f:
        f.write(b"\x1f\x8b\x08 not really gzip")
    with gzip.open(path["huge.gz"], "wb") as f:  # a few bytes that promise 216 TB
        f.write(bytes([0, 0, 0x08, 3]) + (60_000).to_bytes(4, "big") * 3)
    return path


_FOLDER = tempfile.mkdtemp(prefix="explorer-bad-input-")
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)


EXEMPT.update({name: BUILT_BY_THE_PACKAGE for name in (
    "isometry.CriticalPoint", "isometry.LinearGaussianMoments", "isometry.ScanStep")})
EXEMPT["isometry.one_blas_thread"] = NO_ARGUMENTS
EXEMPT["runtime.workers"] = ("hands n_jobs and client back as given (natively) or replaced by (1, None) (in a browser "
                             "page); its callers, sweep.trainability_map and mup.transfer_sweep, check n_jobs first")


def _names() -> dict:
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.5, 0.5]])
    Y = np.array([0, 1, 0, 1, 1])
    net = Network([2, 3, 1], seed=0)
    return dict(
        np=np, init=init, activations=activations, checks=checks, datasets=datasets, theory=theory, Network=Network,
        Trainer=Trainer, History=History,
        sweep=sweep, mup=mup, residual=residual, share=share, export=export, reproductions=reproductions,
        figure=go.Figure(), loss=loss,
        activate=activate, activation_derivative=activation_derivative, loss_and_grad=loss_and_grad,
        output_activation=output_activation, histogram_counts=histogram_counts, NAN=NAN, INF=INF,
        rng=np.random.default_rng(0), FILES=_write_files(_FOLDER), points=np.zeros((4, 2)),
        data=datasets.toy("xor", n=10), X=X, Y=Y, X_nan=np.where(X > 0.9, NAN, X), Y_nan=np.where(Y > 0, NAN, 0.0),
        net=net, net3=Network([2, 3, 3], output="softmax"), trainer=Trainer(net, X, Y), z=np.zeros((1, 5, 1)),
    )


NAMES = _names()
NAMES["isometry"] = isometry


def call(text: str):
    return eval(text, dict(NAMES))  # the table's own calls, nothing from outside


@pytest.mark.parametrize("text, error, parts", ROWS, ids=[text for text, _, _ in ROWS])
def test_bad_input_is_refused_with_a_message_naming_it(text, error, parts):
    with pytest.raises(error) as raised:
        call(text)
    message = str(raised.value)
    missing = [part for part in parts if part not in message]
    assert not missing, f"{text} raised {type(raised.value).__name__}: {message!r}, which lacks {missing}"


def public() -> dict[str, object]:
    """Every public function and class of the engine, by "module.name": what each module of explorer (and of its
    subpackages, e.g. theory/meanfield.py as "theory.meanfield") defines under a name without a leading underscore
    (not what it imports). The apps (explorer/apps/) are widgets, checked by their own tests."""
    found = {}
    for info in pkgutil.walk_packages(explorer.__path__, prefix="explorer."):
        if info.ispkg or info.name.startswith("explorer.apps."):
            continue
        module = importlib.import_module(info.name)
        short = info.name.removeprefix("explorer.")
        for name, value in vars(module).items():
            if not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value)) \
                    and value.__module__ == module.__name__:
                found[f"{short}.{name}"] = value
    return found


def called(text: str) -> set[int]:
    """The ids of the functions and classes a row's call names (init.he_normal, sweep.save, Network, ...)."""
    ids = set()
    for node in ast.walk(ast.parse(text, mode="eval")):
        if isinstance(node, (ast.Name, ast.Attribute)):
            inner = node
            while isinstance(inner, ast.Attribute):
                inner = inner.value
            if isinstance(inner, ast.Name):  # a dotted name only: never evaluate a call here
                try:
                    value = eval(ast.unparse(node), dict(NAMES))
                except Exception:  # noqa: BLE001 - e.g. a name local to the call
                    continue
                ids.add(id(getattr(value, "__func__", value)))
    return ids


def test_the_table_covers_every_public_function():
    """Each public function and class of the engine appears in at least one row, or in EXEMPT with a reason."""
    functions = public()
    assert {"sweep.save", "share.make_query", "export.save_run", "reproductions.glorot_bengio",
            "theory.meanfield.mean_field", "theory.variance.propagate_variance", "network.Network",
            "initializers.he_normal"} <= set(functions)
    covered = set().union(*(called(text) for text, _, _ in ROWS))
    missing = [name for name, value in functions.items() if id(value) not in covered and name not in EXEMPT]
    assert not missing, f"no bad-input row for {missing}: add one to ROWS (or to EXEMPT, saying why)"
    stale = [name for name in EXEMPT if name not in functions]
    assert not stale, f"EXEMPT names what the package no longer has: {stale}"
    needless = [name for name in EXEMPT if id(functions[name]) in covered]
    assert not needless, f"EXEMPT names functions that have rows: {needless}"


def markdown() -> str:
    """The table as markdown, with the message each call gives today."""
    lines = ["| call | error | message |", "|---|---|---|"]
    for text, error, parts in ROWS:
        try:
            call(text)
            got, message = "no error", f"(expected {error.__name__} naming {', '.join(parts)})"
        except Exception as raised:  # noqa: BLE001 - the table shows whatever happens
            got, message = type(raised).__name__, str(raised)
            if not isinstance(raised, error) or any(part not in message for part in parts):
                message += f" **(expected {error.__name__} naming {', '.join(parts)})**"
        cell = message.replace(_FOLDER, "…").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{text.replace('|', chr(92) + '|')}` | {got} | {cell} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
