#!/usr/bin/python3
"""Exports a trained tiny SmallThinker (train.py checkpoint) to GGUF v3 in the published layout
(docs/smallthinker-spec.md §2, §3), and loads such a file back into PyTorch.

  /usr/bin/python3 tools/train/export_gguf.py --ckpt tools/train/runs/ts8/best.pt \
      --tokenizer tools/train/tokenizer.json --predictor tools/train/runs/ts8/predictor.pt \
      --type q8_0 --out models/tinystories-st-q8_0.gguf [--transposed-down]

Weight types: f32, f16, bf16, q8_0, q4_0 for the matrices (token_embd, attention, experts,
lm_head_profiler). Norms and the router (ffn_gate_inp) stay F32 in every variant. With
--transposed-down, ffn_down_exps is written {E, F, X} (row n of expert x = the E-vector neuron n
adds), transposed before quantization, like the PowerInfer fork's .powerinfer.gguf files.
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import gguf_io as G  # noqa: E402
from model import Config, SmallThinker  # noqa: E402

ARCH = "smallthinker"
CHATML_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
                   "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
                   "{{ '<|im_start|>assistant\n' }}{% endif %}")


def _np(t):
    return t.detach().float().cpu().numpy()


def export(model: SmallThinker, tok: bpe.Tokenizer, path, wtype="q8_0", transposed_down=False,
           predictor=None, name="tinystories-smallthinker", description=None):
    """predictor: None or (W1 [P, E], W2 [V, P]) numpy/tensors."""
    cfg = model.cfg
    t_mat = G.TYPE_BY_NAME[wtype.lower()]
    E, V, X, Fd = cfg.n_embd, cfg.vocab_size, cfg.n_expert, cfg.n_ff
    H = cfg.n_head * cfg.head_dim
    K = cfg.n_head_kv * cfg.head_dim
    assert E != Fd, "E must differ from F (a transposed down is detected by shape)"
    assert len(tok) == V
    w = G.GGUFWriter()
    w.add_string("general.architecture", ARCH)
    w.add_string("general.name", name)
    if description:
        w.add_string("general.description", description)
    w.add_u32("general.alignment", G.ALIGNMENT)
    w.add_u32("general.file_type", G.FILE_TYPE[t_mat])
    if t_mat in (G.GGML_Q4_0, G.GGML_Q8_0):
        w.add_u32("general.quantization_version", 2)
    p = ARCH + "."
    w.add_u32(p + "block_count", cfg.n_layer)
    w.add_u32(p + "context_length", cfg.context_length)
    w.add_u32(p + "embedding_length", E)
    w.add_u32(p + "feed_forward_length", Fd)
    w.add_u32(p + "expert_feed_forward_length", Fd)
    w.add_u32(p + "attention.head_count", cfg.n_head)
    w.add_u32(p + "attention.head_count_kv", cfg.n_head_kv)
    w.add_u32(p + "attention.key_length", cfg.head_dim)
    w.add_u32(p + "attention.value_length", cfg.head_dim)
    w.add_f32(p + "rope.freq_base", cfg.rope_theta)
    w.add_f32(p + "attention.layer_norm_rms_epsilon", cfg.rms_eps)
    w.add_u32(p + "expert_count", X)
    w.add_u32(p + "expert_used_count", cfg.n_expert_used)
    w.add_u32(p + "expert_gating_func", 2)  # sigmoid
    if cfg.sliding_window > 0:
        w.add_u32(p + "attention.sliding_window", cfg.sliding_window)
    # tokenizer
    eot = tok.special["<|endoftext|>"]
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "qwen2")
    w.add_array("tokenizer.ggml.tokens", G.T_STRING, tok.tokens)
    w.add_array("tokenizer.ggml.token_type", G.T_INT32, tok.token_types)
    w.add_array("tokenizer.ggml.merges", G.T_STRING, [a + " " + b for a, b in tok.merges])
    w.add_u32("tokenizer.ggml.bos_token_id", eot)
    w.add_u32("tokenizer.ggml.eos_token_id", eot)
    w.add_u32("tokenizer.ggml.padding_token_id", eot)
    w.add_bool("tokenizer.ggml.add_bos_token", False)
    w.add_string("tokenizer.chat_template", CHATML_TEMPLATE)

    def mat(name, a, ne, t=None):
        a = np.ascontiguousarray(a, dtype=np.float32)
        assert a.size == int(np.prod(ne)), (name, a.shape, ne)
        tt = t_mat if t is None else t
        w.add_tensor(name, ne, tt, G.encode_tensor(a, tt))

    sd = model
    mat("token_embd.weight", _np(sd.tok_embd.weight), [E, V])
    mat("output_norm.weight", _np(sd.out_norm.weight), [E], G.GGML_F32)
    if not cfg.tie_embeddings:
        mat("output.weight", _np(sd.lm_head.weight), [E, V])
    if predictor is not None:
        W1, W2 = (np.asarray(_np(m) if torch.is_tensor(m) else m, dtype=np.float32) for m in predictor)
        P = W1.shape[0]
        assert W1.shape == (P, E) and W2.shape == (V, P) and P % 32 == 0
        # W1 rows then W2 rows, each row-wise quantized as consecutive blocks
        blob = G.encode_tensor(W1, t_mat) + G.encode_tensor(W2, t_mat)
        w.add_tensor("lm_head_profiler.weight", [P * (E + V), 1], t_mat, blob)
    for il, b in enumerate(sd.blocks):
        q = f"blk.{il}."
        mat(q + "attn_norm.weight", _np(b.attn_norm.weight), [E], G.GGML_F32)
        mat(q + "attn_q.weight", _np(b.attn.wq.weight), [E, H])
        mat(q + "attn_k.weight", _np(b.attn.wk.weight), [E, K])
        mat(q + "attn_v.weight", _np(b.attn.wv.weight), [E, K])
        mat(q + "attn_output.weight", _np(b.attn.wo.weight), [H, E])
        mat(q + "ffn_norm.weight", _np(b.ffn_norm.weight), [E], G.GGML_F32)
        mat(q + "ffn_gate_inp.weight", _np(b.moe.router.weight), [E, X], G.GGML_F32)
        mat(q + "ffn_gate_exps.weight", _np(b.moe.gate), [E, Fd, X])      # [X][F][E]
        mat(q + "ffn_up_exps.weight", _np(b.moe.up), [E, Fd, X])
        down = _np(b.moe.down)                                           # [X][E][F]
        if transposed_down:
            mat(q + "ffn_down_exps.weight", down.transpose(0, 2, 1), [E, Fd, X])  # [X][F][E]
        else:
            mat(q + "ffn_down_exps.weight", down, [Fd, E, X])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    w.write(path)
    return path


def config_from_gguf(r: G.GGUFReader):
    p = ARCH + "."
    kv = r.kv
    return Config(vocab_size=len(kv["tokenizer.ggml.tokens"]), n_layer=kv[p + "block_count"],
                  n_embd=kv[p + "embedding_length"], n_head=kv[p + "attention.head_count"],
                  n_head_kv=kv[p + "attention.head_count_kv"], head_dim=kv[p + "attention.key_length"],
                  n_expert=kv[p + "expert_count"], n_expert_used=kv[p + "expert_used_count"],
                  n_ff=kv[p + "expert_feed_forward_length"], context_length=kv[p + "context_length"],
                  sliding_window=kv.get(p + "attention.sliding_window", 0),
                  rope_theta=kv[p + "rope.freq_base"], rms_eps=kv[p + "attention.layer_norm_rms_epsilon"],
                  tie_embeddings="output.weight" not in r.tensors)


def load_gguf(path):
    """Returns (model with the file's dequantized weights, tokenizer, predictor (W1, W2) or None)."""
    r = G.GGUFReader(path)
    cfg = config_from_gguf(r)
    m = SmallThinker(cfg)
    E, V, X, Fd = cfg.n_embd, cfg.vocab_size, cfg.n_expert, cfg.n_ff
    T = lambda n: torch.from_numpy(np.ascontiguousarray(r.array(n)))  # noqa: E731
    with torch.no_grad():
        m.tok_embd.weight.copy_(T("token_embd.weight"))
        m.out_norm.weight.copy_(T("output_norm.weight"))
        if not cfg.tie_embeddings:
            m.lm_head.weight.copy_(T("output.weight"))
        for il, b in enumerate(m.blocks):
            q = f"blk.{il}."
            b.attn_norm.weight.copy_(T(q + "attn_norm.weight"))
            b.attn.wq.weight.copy_(T(q + "attn_q.weight"))
            b.attn.wk.weight.copy_(T(q + "attn_k.weight"))
            b.attn.wv.weight.copy_(T(q + "attn_v.weight"))
            b.attn.wo.weight.copy_(T(q + "attn_output.weight"))
            b.ffn_norm.weight.copy_(T(q + "ffn_norm.weight"))
            b.moe.router.weight.copy_(T(q + "ffn_gate_inp.weight"))
            b.moe.gate.copy_(T(q + "ffn_gate_exps.weight"))
            b.moe.up.copy_(T(q + "ffn_up_exps.weight"))
            d = T(q + "ffn_down_exps.weight")
            if r.tensors[q + "ffn_down_exps.weight"]["ne"] == r.tensors[q + "ffn_up_exps.weight"]["ne"]:
                d = d.transpose(1, 2)  # transposed layout [X][F][E] -> [X][E][F]
            b.moe.down.copy_(d)
    pred = None
    if "lm_head_profiler.weight" in r.tensors:
        flat = r.array("lm_head_profiler.weight").reshape(-1)
        P = flat.size // (E + V)
        pred = (flat[:P * E].reshape(P, E).copy(), flat[P * E:].reshape(V, P).copy())
    kv = r.kv
    tok = bpe.Tokenizer(kv["tokenizer.ggml.tokens"], [s.split(" ") for s in kv["tokenizer.ggml.merges"]])
    return m.eval(), tok, pred


def load_checkpoint(path):
    ck = torch.load(path, map_location="cpu")
    cfg = Config(**ck["config"])
    cfg.dropout = 0.0
    m = SmallThinker(cfg)
    m.load_state_dict(ck["model"])
    return m.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--predictor", default=None, help="predictor.pt from fit_predictor.py")
    ap.add_argument("--type", default="q8_0", choices=sorted(G.TYPE_BY_NAME))
    ap.add_argument("--transposed-down", action="store_true")
    ap.add_argument("--name", default="tinystories-smallthinker")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    model = load_checkpoint(a.ckpt)
    tok = bpe.Tokenizer.load(a.tokenizer)
    pred = None
    if a.predictor:
        pk = torch.load(a.predictor)
        pred = (pk["W1"], pk["W2"])
    export(model, tok, a.out, a.type, a.transposed_down, pred, a.name)
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes)")


if __name__ == "__main__":
    main()
