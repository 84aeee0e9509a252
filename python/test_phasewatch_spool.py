"""Tests of the spool helper (numpy and torch only): python3 -m unittest python/test_phasewatch_spool.py"""

import os
import tempfile
import unittest
import urllib.parse
import warnings

import numpy as np
import torch

from phasewatch_spool import SpoolWriter, last_token_rows, spool_name


class SpoolHelperTest(unittest.TestCase):
    def test_last_token_rows_follow_the_attention_mask(self):
        h = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(2, 4, 3)
        right_padded_and_left_padded = torch.tensor([[1, 1, 0, 0], [0, 1, 1, 1]])
        rows = last_token_rows(h, right_padded_and_left_padded)
        self.assertTrue(torch.equal(rows, torch.stack([h[0, 1], h[1, 3]])))
        self.assertTrue(torch.equal(last_token_rows(h), h[:, -1]))

    def test_names_are_percent_encoded_per_rfc3986(self):
        name = spool_name("a,b+c", "sft", 1, 2, "model/norm=é", 5, 100)
        self.assertEqual(
            name,
            "run=a%2Cb%2Bc,stage=sft,rank=1,world=2,layer=model%2Fnorm%3D%C3%A9,step=5,tokens=100.npy",
        )
        fields = dict(kv.split("=", 1) for kv in name[: -len(".npy")].split(","))
        self.assertEqual(urllib.parse.unquote(fields["layer"]), "model/norm=é")

    def test_hooks_write_one_complete_file_per_module_and_flush(self):
        with tempfile.TemporaryDirectory() as d:
            w = SpoolWriter(d, run="r", rank=0, world=1)
            a, b = torch.nn.Linear(3, 5), torch.nn.Linear(5, 2)
            w.hook({"a": a, "b": b}, rows=2)
            x = torch.randn(4, 6, 3)
            b(a(x))
            w.set_step(9)
            w.flush()
            names = sorted(os.listdir(d))
            self.assertEqual(names, [spool_name("r", "pretrain", 0, 1, "a", 9), spool_name("r", "pretrain", 0, 1, "b", 9)])
            m = np.load(os.path.join(d, names[0]))
            self.assertEqual((m.shape, m.dtype.str, m.flags["C_CONTIGUOUS"]), ((2, 5), "<f4", True))
            self.assertTrue(np.allclose(m, a(x)[:2, -1].detach().numpy()))

    def test_a_full_folder_skips_writes_and_counts_them(self):
        with tempfile.TemporaryDirectory() as d:
            w = SpoolWriter(d, run="r", rank=0, world=1, max_bytes=1000)
            w.add("x", np.zeros((10, 10)))  # 400 bytes of float32
            w.flush()
            w.set_step(1)
            w.add("x", np.zeros((10, 10)))
            w.flush()
            w.set_step(2)
            w.add("x", np.zeros((10, 10)))
            w.flush()
            self.assertEqual((w.written, w.skipped), (2, 1))

    def test_bad_rank_and_shape_are_refused(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(ValueError):
                SpoolWriter(d, run="r", rank=2, world=2)
            with self.assertRaises(ValueError):
                SpoolWriter(d, run="r").add("x", np.zeros(5))

    def test_scalars_file_averages_the_loss_and_keeps_the_latest_of_other_names(self):
        with tempfile.TemporaryDirectory() as d:
            w = SpoolWriter(d, run="r", rank=0, world=1)
            w.set_step(3)
            for loss in (3.0, 2.0, 1.0):
                w.scalar("loss", loss)
            w.scalar("heldout.accuracy", 0.25)
            w.scalar("heldout.accuracy", 0.5)
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                w.scalar("Held Out", 1.0)
                w.scalar("eval_loss", float("nan"))
            self.assertEqual(w.scalars_dropped, 2)
            w.add("x", np.ones((2, 3)))
            w.flush()
            with open(os.path.join(d, "run=r,stage=pretrain,rank=0,world=1,step=3.scalars")) as f:
                self.assertEqual(f.read(), "heldout.accuracy 0.5 1\nloss 2.0 3\n")
            w.set_step(4)
            w.flush()  # nothing recorded since: no scalars file for step 4
            self.assertFalse(any(n.endswith("step=4.scalars") for n in os.listdir(d)))


if __name__ == "__main__":
    unittest.main()
