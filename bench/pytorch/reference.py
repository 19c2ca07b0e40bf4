"""
PyTorch's time for the same work as `npm run bench`'s recurrent figures, on this machine, now:
the references the speed targets of issues 8 and 9 are stated against ("within 2x of PyTorch's CPU build").
Optional, not part of `npm run bench` and not a dependency: it needs PyTorch and an optimised BLAS (Debian 12:
apt-get install python3-torch libopenblas0-pthread; with Debian's default reference BLAS, PyTorch multiplied
256×256 float64 matrices at 3.8 GFLOP/s here, with OpenBLAS at 50). Run it right before or after the benchmark,
since this machine's speed drifts:

    /usr/bin/python3 bench/pytorch/reference.py [--threads N]

Float64 throughout, wall clock: each figure is the best of 5 rounds of at least 0.3 s after 3 warm-up calls, and
each of chapter 10's networks the best of 3 whole training runs (9 training sequences of length 2, `standard`
11 of length 1, and 1 validation sequence evaluated after every epoch; batch 32, Adam, MSE, 150 epochs; the
predictions afterwards are left out, a few milliseconds in the benchmark). PyTorch's RNN, LSTM and GRU add two
bias vectors where Keras adds one.
Prints one JSON object with the benchmark's keys, plus the PyTorch version, the threads and matmul256GFLOPs.
"""
import argparse, json, os, time

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=1)
threads = parser.parse_args().threads
# the BLAS's own threads too (OpenBLAS starts one per core unless told), before torch loads it
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(threads)
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(threads)
torch.set_default_dtype(torch.float64)
torch.manual_seed(0)


def best_ms(fn, rounds=5, min_s=0.3, warmup=3):
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(rounds):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            t = time.perf_counter() - t0
            if t >= min_s:
                break
        best = min(best, t / n)
    return best * 1000


class Seq(nn.Module):
    """Recurrent layers (each returning its sequence to the next), the last one's final state into Dense(1)."""

    def __init__(self, kind, units, layers, dense_in=0, features=1):
        super().__init__()
        self.pre = nn.Sequential(nn.Linear(features, dense_in), nn.ReLU(), nn.Linear(dense_in, dense_in), nn.ReLU()) if dense_in else None
        f = dense_in or features
        mods = []
        for _ in range(layers):
            if kind == "rnn":
                mods.append(nn.RNN(f, units, batch_first=True, nonlinearity="tanh"))
            elif kind == "rnn_sigmoid":  # SimpleRNN(activation="sigmoid"): written out, as torch.nn.RNN has no sigmoid
                mods.append(SigmoidRNN(f, units))
            elif kind == "lstm":
                mods.append(nn.LSTM(f, units, batch_first=True))
            else:
                mods.append(nn.GRU(f, units, batch_first=True))
            f = units
        self.rec = nn.ModuleList(mods)
        self.out = nn.Linear(units, 1)

    def forward(self, x):
        if self.pre is not None:
            x = self.pre(x)
        for m in self.rec:
            x = m(x)[0]
        return self.out(x[:, -1])


class SigmoidRNN(nn.Module):
    def __init__(self, f, u):
        super().__init__()
        self.Wx, self.Wh = nn.Linear(f, u), nn.Linear(u, u, bias=False)

    def forward(self, x):
        h, hs = torch.zeros(x.shape[0], self.Wh.in_features), []
        for t in range(x.shape[1]):
            h = torch.sigmoid(self.Wx(x[:, t]) + self.Wh(h))
            hs.append(h)
        return torch.stack(hs, 1), h


CCD = [-0.03077640549, -0.08336233266, -0.1446729567, -0.2116753732, -0.2830637392, -0.3581341341, -0.436462435,
       -0.5177783846, -0.6019067271, -0.6887363571, -0.7782028952, -0.8702784034]


def extrapolation_ms(name):
    nets = {"rnn": ("rnn", 200, 1, 0), "standard": ("rnn", 200, 1, 0), "rnn_2layers": ("rnn_sigmoid", 500, 2, 0),
            "lstm_2layers": ("lstm", 250, 2, 0), "dnn2_gru2": ("gru", 250, 2, 125)}
    kind, units, layers, dense_in = nets[name]
    if name == "standard":
        X = torch.arange(2, 26, 2, dtype=torch.float64).reshape(12, 1, 1)
        Y = torch.tensor(CCD).reshape(12, 1)
    else:
        X = torch.tensor([[CCD[i], CCD[i + 1]] for i in range(10)]).reshape(10, 2, 1)
        Y = torch.tensor([CCD[i + 2] for i in range(10)]).reshape(10, 1)
    n_train = int(len(X) * 0.95)  # Keras's validation_split: the last samples
    xt, yt, xv, yv = X[:n_train], Y[:n_train], X[n_train:], Y[n_train:]
    model = Seq(kind, units, layers, dense_in=dense_in)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    t0 = time.perf_counter()
    for _ in range(150):
        opt.zero_grad()
        loss = ((model(xt) - yt) ** 2).mean()
        loss.backward()
        opt.step()
        with torch.no_grad():
            ((model(xv) - yv) ** 2).mean().item()
    return (time.perf_counter() - t0) * 1000


def adding(N, T):
    g = torch.Generator().manual_seed(3)
    x = torch.zeros(N, T, 2)
    x[:, :, 0] = torch.rand(N, T, generator=g)
    a = torch.randint(0, T // 2, (N,), generator=g)
    b = torch.randint(T // 2, T, (N,), generator=g)
    x[torch.arange(N), a, 1] = 1
    x[torch.arange(N), b, 1] = 1
    return x, (x[torch.arange(N), a, 0] + x[torch.arange(N), b, 0]).reshape(N, 1)


def update_ms(kind, units):
    x, y = adding(64, 50)
    model = Seq(kind, units, 1, features=2)
    opt = torch.optim.Adam(model.parameters(), eps=1e-7)

    def step():
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
    return best_ms(step)


def lstm128_ms():
    lstm = nn.LSTM(1, 128, batch_first=True)
    x, d = torch.randn(32, 100, 1), torch.randn(32, 128)

    def pass_():
        lstm.zero_grad()
        out = lstm(x)[0][:, -1]
        out.backward(d)
    return best_ms(pass_)


def lstm2x250_step_ms():
    model = Seq("lstm", 250, 2)
    opt = torch.optim.Adam(model.parameters(), eps=1e-7)
    x, y = torch.randn(9, 2, 1), torch.randn(9, 1)

    def step():
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
    return best_ms(step)


result = {
    "torch": torch.__version__, "threads": threads,
    "rnn": {"lstm2x250StepMs": lstm2x250_step_ms(), "lstm128T100Ms": lstm128_ms(),
            "lstm32T50UpdateMs": update_ms("lstm", 32), "rnn64T50UpdateMs": update_ms("rnn", 64)},
    "rnnChapters": {"extrapolationMs": {n: min(extrapolation_ms(n) for _ in range(3)) for n in ["rnn", "rnn_2layers", "lstm_2layers", "dnn2_gru2", "standard"]}},
}
a, b = torch.randn(256, 256), torch.randn(256, 256)
result["matmul256GFLOPs"] = 2 * 256**3 / best_ms(lambda: a @ b) / 1e6
print(json.dumps(result))
