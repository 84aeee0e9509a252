"""Tests of the spool helper (numpy and torch only): python3 -m unittest python/test_phasewatch_spool.py"""

import os
import socket
import tempfile
import unittest
import urllib.parse
import warnings

import numpy as np
import torch

from phasewatch_spool import DEFAULT_MAX_ROWS, PhasewatchWarning, SpoolWriter, last_token_rows, spool_name


def only_file(folder, layer):
    names = [n for n in os.listdir(folder) if f",layer={layer}," in n]
    if len(names) != 1:
        raise AssertionError(f"expected one file of layer {layer} in {sorted(os.listdir(folder))}")
    return np.load(os.path.join(folder, names[0]))


class Tiny(torch.nn.Module):
    """Embedding, two linear blocks with a residual, a final norm: a stand-in for a user's model."""

    def __init__(self, vocab=50, d=128):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, d)
        self.blocks = torch.nn.ModuleList([torch.nn.Linear(d, d) for _ in range(2)])
        self.norm = torch.nn.LayerNorm(d)

    def forward(self, tokens):
        x = self.embed(tokens)
        for b in self.blocks:
            x = x + torch.tanh(b(x))
        return self.norm(x)


class SpoolHelperTest(unittest.TestCase):
    def setUp(self):
        # Small windows warn by design; tests that check a warning catch it themselves.
        quiet = warnings.catch_warnings()
        quiet.__enter__()
        self.addCleanup(quiet.__exit__, None, None, None)
        warnings.simplefilter("ignore", PhasewatchWarning)

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
            with self.assertWarnsRegex(PhasewatchWarning, "keeps 2 of the 4 rows"):
                b(a(x))
            w.set_step(9)
            w.flush()
            names = sorted(os.listdir(d))
            self.assertEqual(names, [spool_name("r", "pretrain", 0, 1, "a", 9), spool_name("r", "pretrain", 0, 1, "b", 9)])
            m = np.load(os.path.join(d, names[0]))
            self.assertEqual((m.shape, m.dtype.str, m.flags["C_CONTIGUOUS"]), ((2, 5), "<f4", True))
            self.assertTrue(np.allclose(m, a(x)[:2, -1].detach().numpy()))

    def test_by_default_a_hook_keeps_the_last_position_of_every_sequence(self):
        # The study's rows: one per sequence, all of them. 512 sequences of d = 128 in one forward
        # pass give a 512 x 128 window, enough for the 12..100 fit, and no warning.
        with tempfile.TemporaryDirectory() as d:
            torch.manual_seed(0)
            model = Tiny()
            w = SpoolWriter(d, run="r", rank=0, world=1)
            w.hook({"blocks.0": model.blocks[0]})
            tokens = torch.randint(0, 50, (512, 8))
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                model(tokens)
                w.set_step(3)
                w.flush()
            m = only_file(d, "blocks.0")
            self.assertEqual(m.shape, (512, 128))
            with torch.no_grad():
                expected = model.blocks[0](model.embed(tokens))[:, -1].numpy()
            self.assertTrue(np.array_equal(m, expected))

    def test_the_row_cap_keeps_the_first_rows_and_says_so_once_with_the_numbers(self):
        self.assertGreaterEqual(DEFAULT_MAX_ROWS, 15000)  # the study's N fits under the default cap
        with tempfile.TemporaryDirectory() as d:
            w = SpoolWriter(d, run="r", rank=0, world=1, max_rows=150)
            rows = np.arange(200 * 101, dtype=np.float32).reshape(200, 101)
            w.add("x", rows[:100])
            w.add("x", rows[100:])
            with self.assertWarnsRegex(PhasewatchWarning, r"'x' step 0: kept 150 of 200 rows \(max_rows=150\)"):
                w.flush()
            self.assertTrue(np.array_equal(only_file(d, "x"), rows[:150]))
            w.set_step(1)
            w.add("x", rows)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # said once: a second capped window is quiet
                w.flush()

    def test_a_window_too_small_for_the_study_fit_warns_once_per_layer(self):
        with tempfile.TemporaryDirectory() as d:
            w = SpoolWriter(d, run="r", rank=0, world=1)
            w.add("narrow", np.random.default_rng(0).standard_normal((500, 64)))
            w.add("short", np.random.default_rng(1).standard_normal((64, 128)))
            w.add("enough", np.random.default_rng(2).standard_normal((101, 100)))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                w.flush()
                w.set_step(1)
                w.add("short", np.zeros((64, 128)))
                w.flush()
            messages = [str(c.message) for c in caught if issubclass(c.category, PhasewatchWarning)]
            self.assertEqual(len(messages), 2, messages)
            self.assertIn("'narrow' step 0: 500 rows of width 64 give at most 64 nonzero", messages[0])
            self.assertIn("'short' step 0: 64 rows of width 128 give at most 63 nonzero", messages[1])
            self.assertTrue(all("12..100" in m for m in messages))

    def test_a_probe_pass_writes_the_rows_the_users_own_code_computes(self):
        # The user's own measurement of the probe set: last non-pad token of each sequence, at
        # the final norm and after block 1, computed by hand without phasewatch.
        torch.manual_seed(1)
        model = Tiny().eval()
        gen = torch.Generator().manual_seed(2)
        probe_set = [torch.randint(0, 50, (64, 12), generator=gen) for _ in range(3)]
        masks = [torch.ones(64, 12, dtype=torch.long) for _ in range(3)]
        for m in masks:
            m[::2, 9:] = 0  # every other sequence right-padded after 9 tokens
        with torch.no_grad():
            own_norm, own_block = [], []
            for tokens, mask in zip(probe_set, masks):
                x = model.embed(tokens)
                x = x + torch.tanh(model.blocks[0](x))
                h1 = model.blocks[1](x)
                x = x + torch.tanh(h1)
                last = mask.sum(dim=1) - 1
                own_block.append(h1[torch.arange(64), last])
                own_norm.append(model.norm(x)[torch.arange(64), last])
            own_norm, own_block = torch.cat(own_norm).numpy(), torch.cat(own_block).numpy()

        with tempfile.TemporaryDirectory() as d:
            w = SpoolWriter(d, run="r", rank=0, world=1)
            w.hook({"norm": model.norm, "blocks.1": model.blocks[1]}, enabled=lambda: False)
            w.add("live", np.ones((3, 4)))  # a live window being gathered around the probe
            w.set_step(99)
            with w.probe(step=40):
                self.assertFalse(torch.is_grad_enabled())
                for tokens, mask in zip(probe_set, masks):
                    w.set_attention_mask(mask)
                    model(tokens)
            w.set_attention_mask(None)
            self.assertEqual(
                sorted(os.listdir(d)),
                sorted(spool_name("r", "pretrain", 0, 1, "probe." + n, 40) for n in ("norm", "blocks.1")),
            )
            self.assertTrue(np.array_equal(only_file(d, "probe.norm"), own_norm))
            self.assertTrue(np.array_equal(only_file(d, "probe.blocks.1"), own_block))
            # Outside the probe the hooks follow enabled() again, and the live rows were kept.
            model(probe_set[0])
            self.assertEqual(w.step, 99)
            w.flush()
            self.assertEqual(only_file(d, "live").shape, (3, 4))
            self.assertEqual(len(os.listdir(d)), 3)

    def test_the_probe_example_in_docs_pytorch_md_runs_as_printed(self):
        # The one code block of docs/pytorch.md that starts with "spool = SpoolWriter(\"/tmp/spool\"",
        # run with a stand-in for the user's names (model, vocab, steps, train_step).
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "pytorch.md")) as f:
            doc = f.read()
        blocks = [b.split("```", 1)[0] for b in doc.split("```python\n")[1:]]
        example = [b for b in blocks if 'SpoolWriter("/tmp/spool", run="my-run")' in b]
        self.assertEqual(len(example), 1, "the probe example of docs/pytorch.md")
        trained = []
        with tempfile.TemporaryDirectory() as d:
            torch.manual_seed(0)
            model = torch.nn.Module()
            model.embed = torch.nn.Embedding(50, 128)
            model.blocks = torch.nn.ModuleList([torch.nn.Linear(128, 128) for _ in range(6)])
            model.norm = torch.nn.LayerNorm(128)

            def forward(tokens):
                x = model.embed(tokens)
                for b in model.blocks:
                    x = x + torch.tanh(b(x))
                return model.norm(x)

            model.forward = forward
            code = example[0].replace('"/tmp/spool"', repr(d))
            exec(code, {"torch": torch, "model": model, "vocab": 50, "steps": 200, "train_step": trained.append})
            self.assertEqual(trained, list(range(1, 201)))
            self.assertEqual(
                sorted(os.listdir(d)),
                sorted(spool_name("my-run", "pretrain", 0, 1, "probe." + n, s) for n in ("final_norm", "blocks.5") for s in (100, 200)),
            )
            probe = torch.randint(0, 50, (1024, 64), generator=torch.Generator().manual_seed(0))
            with torch.no_grad():
                expected = forward(probe)[:, -1].numpy()
            m = np.load(os.path.join(d, spool_name("my-run", "pretrain", 0, 1, "probe.final_norm", 200)))
            self.assertEqual(m.shape, (1024, 128))
            self.assertTrue(np.allclose(m, expected, atol=1e-5))

    def test_a_probe_that_raises_writes_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            model = Tiny()
            w = SpoolWriter(d, run="r", rank=0, world=1)
            w.hook({"norm": model.norm})
            with self.assertRaises(KeyError):
                with w.probe(step=1):
                    model(torch.randint(0, 50, (8, 4)))
                    raise KeyError("the user's probe loop failed")
            w.flush()
            self.assertEqual(os.listdir(d), [])

    def test_ranks_of_a_distributed_job_write_one_run_that_covers_the_global_batch(self):
        # Two gloo ranks on this CPU, each hooking its own replica on its half of the batch: the
        # names carry rank and world from torch.distributed, and the two files together hold the
        # rows of the whole batch, so the collector's merge of the window sees all of it.
        import torch.multiprocessing as mp

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with tempfile.TemporaryDirectory() as d:
            mp.spawn(_ddp_rank, args=(2, port, d), nprocs=2, join=True)
            self.assertEqual(
                sorted(os.listdir(d)),
                sorted(spool_name("ddp", "pretrain", r, 2, "norm", 5) for r in range(2)),
            )
            torch.manual_seed(0)
            model = Tiny()
            tokens = torch.randint(0, 50, (256, 6), generator=torch.Generator().manual_seed(3))
            with torch.no_grad():
                whole = model(tokens)[:, -1].numpy()
            parts = [np.load(os.path.join(d, spool_name("ddp", "pretrain", r, 2, "norm", 5))) for r in range(2)]
            self.assertTrue(np.allclose(np.concatenate(parts), whole, atol=1e-6))


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



def _ddp_rank(rank, world, port, folder):
    import torch.distributed as dist

    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = torch.nn.parallel.DistributedDataParallel(Tiny())
        tokens = torch.randint(0, 50, (256, 6), generator=torch.Generator().manual_seed(3))
        w = SpoolWriter(folder, run="ddp")  # rank and world from torch.distributed
        w.hook({"norm": model.module.norm})
        w.set_step(5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PhasewatchWarning)  # 128 rows per rank: fine here
            model(tokens[rank * 128 : (rank + 1) * 128])
            w.flush()
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    unittest.main()
