#!/usr/bin/env python
"""Recipe exploration on the VALIDATION split only (single models; how the default recipe was chosen).

    python benchmarks/akt_quality/explore.py name=flat 'cfg={"pooling":"flatten"}' cw=10
    python benchmarks/akt_quality/explore.py name=flat_agc pre=PRE.npz pre_epochs=3 lr=3e-4 'cfg={"pooling":"flatten"}'

key=value options: seed, epochs (20), lr (fine-tuning Adam rate, 1e-3), cw (positive weight), ppw (weight of
negatives that are known phosphosites), flank (15), cfg (JSON SequenceModelConfig overrides), patience (8),
batch (64), pre (npz with x = int8 index windows (n, 31), y = labels: the pretraining table), pre_epochs.
Prints validation ROC-AUC / PR-AUC for all S/T (roc, pr) and for AKT sites vs other known phosphosites
(roc2, pr2), and appends them to explore_results.jsonl. The test split is never scored here.
The pretraining arrays are data/pretrain_agc.tsv.gz (agc) or its --target phospho variant (pre), encoded
with phosnet.datasets.read_window_table and saved with numpy.savez.
"""

import json
import os
import sys
import time

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from phosnet._tf import keras, tensorflow
from phosnet.encoding import to_index
from phosnet.models.sequence import build_sequence_model

tf = tensorflow()
k = keras()
os.makedirs("benchmarks/akt_quality/runs/explore", exist_ok=True)
args = dict(a.split("=") for a in sys.argv[1:])
name = args.pop("name")
seed = int(args.get("seed", 0))
epochs = int(args.get("epochs", 20))
lr = float(args.get("lr", 1e-3))
cw = float(args.get("cw", 0))
pre = args.get("pre")
pre_epochs = int(args.get("pre_epochs", 5))
flank = int(args.get("flank", 15))
cfg = json.loads(args.get("cfg", "{}"))
patience = int(args.get("patience", 8))
freeze = int(args.get("freeze", 0))
batch = int(args.get("batch", 64))
ppw = float(args.get("ppw", 1))
d = pd.read_csv("data/akt_sites.tsv", sep="\t")
h = pd.read_csv("data/human_phosphosites.tsv", sep="\t")
ks = set(zip(h.accession, h.position, strict=False))
d["pp"] = [(a, b) in ks for a, b in zip(d.protein_id, d.position, strict=False)]
c = 15
idx = to_index(d.window.values)[:, c - flank : c + flank + 1]


def oh(i):
    return np.eye(21, dtype=np.float32)[i]


tr = (d.split == "train").values
va = (d.split == "validation").values
k.utils.set_random_seed(seed)
model = build_sequence_model({**cfg, "window": 2 * flank + 1, "learning_rate": lr})


def cb(p):
    return [
        k.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=p, restore_best_weights=True),
        k.callbacks.ReduceLROnPlateau(monitor="val_auc", mode="max", factor=0.5, patience=3, min_lr=1e-6),
    ]


t0 = time.time()
if pre:
    z = np.load(pre)
    px = z["x"][:, c - flank : c + flank + 1]
    py = z["y"].astype(np.float32)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(py))
    nv = 20000

    def ds(x, y, shuf):
        D = tf.data.Dataset.from_tensor_slices((x, y))
        if shuf:
            D = D.shuffle(len(y), seed=seed)
        return D.batch(256).map(lambda a, b: (tf.one_hot(tf.cast(a, tf.int32), 21), b)).prefetch(2)

    model.optimizer.learning_rate.assign(1e-3)
    model.fit(
        ds(px[perm[nv:]], py[perm[nv:]], True),
        validation_data=ds(px[perm[:nv]], py[perm[:nv]], False),
        epochs=pre_epochs,
        verbose=2,
        callbacks=cb(2),
    )
    print("pretrain time", time.time() - t0, flush=True)
    if freeze:
        for L in model.layers:
            if L.name.startswith(("conv", "bn")):
                L.trainable = False
    model.compile(
        optimizer=k.optimizers.Adam(lr),
        loss="binary_crossentropy",
        metrics=[k.metrics.AUC(name="auc"), k.metrics.AUC(curve="PR", name="pr_auc")],
    )
sw = None
y = d.label.values.astype(np.float32)
if cw or ppw != 1:
    sw = np.ones(len(y), np.float32)
    if cw:
        sw[y == 1] = cw
    if ppw != 1:
        sw[(y == 0) & d.pp.values] = ppw
    sw = sw[tr]
model.fit(
    oh(idx[tr]),
    y[tr],
    sample_weight=sw,
    batch_size=batch,
    epochs=epochs,
    verbose=0,
    validation_data=(oh(idx[va]), y[va]),
    callbacks=cb(patience),
)
p = model.predict(oh(idx[va]), batch_size=1024, verbose=0).ravel()
v = d[va].copy()
v["p"] = p
v2 = v[(v.label == 1) | v.pp]
res = dict(
    name=name,
    roc=roc_auc_score(v.label, v.p),
    pr=average_precision_score(v.label, v.p),
    roc2=roc_auc_score(v2.label, v2.p),
    pr2=average_precision_score(v2.label, v2.p),
    time=time.time() - t0,
)
print(json.dumps(res), flush=True)
np.save(f"benchmarks/akt_quality/runs/explore/{name}.npy", p)
model.save(f"benchmarks/akt_quality/runs/explore/{name}.keras")
with open("benchmarks/akt_quality/explore_results.jsonl", "a") as f:
    f.write(json.dumps({**res, "args": sys.argv[1:]}) + "\n")
