"""Write a random-weight tiny llama GGUF that llama.cpp's llama-server loads (issue 17).

Needs the `gguf` package (0.19.0) and numpy; bench/llama_server_build.sh runs it in
its own venv, so neither is a dependency of inferlab. Usage:
    python bench/make_tiny_gguf.py OUT.gguf [--layers 4] [--dim 256] [--seed 0]
The vocabulary is SentencePiece-style ("llama") with byte fallback, so every text
tokenizes, and inferlab's synthetic prompt words are one token each; the answers are
random tokens (the model is for timing, not for text).
"""

from __future__ import annotations

import argparse
import importlib
import string
from typing import Any

import numpy as np

# gguf lives in the venv bench/llama_server_build.sh makes, not in inferlab's (no types).
gguf: Any = importlib.import_module("gguf")

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


# The words of inferlab's synthetic prompts (src/inferlab/probe/prompts.py), each one
# piece with its leading space, so the server counts about one token per word as a real
# vocabulary would; every prefix of a piece is in the vocabulary too, so llama.cpp's
# SentencePiece merges can reach it.
_TEXT = (
    "the of and to in is that for it as was with be by on not he this are or his from at "
    "which but have an had they you were their one all we can her has there been if more "
    "when will would who so no out up into do than only other new some could time these "
    "two may first then any like my now over such our man me even most made after also "
    "did many before must through back years where much your way well down should because "
    "each just those people how too little state good very make world still own see men "
    "work long get here between both life being under never day same another know while "
    "last might us great old year off come since against go came right used take three "
    "water river stone light music garden city market window story paper morning summer "
    "winter forest bridge table letter number family school place point house night"
)
WORDS = _TEXT.split()


def vocab() -> tuple[list[str], list[float], list[int]]:
    tokens = ["<unk>", "<s>", "</s>"]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [gguf.TokenType.BYTE] * 256
    pieces = ["\u2581", *string.ascii_letters, *string.digits, *".,:;!?'\"-()<>|/_{}[]"]
    for word in WORDS:
        for k in range(1, len(word) + 1):
            pieces.append("\u2581" + word[:k])
    pieces = list(dict.fromkeys(pieces))  # unique, in order
    tokens += pieces
    types += [gguf.TokenType.NORMAL] * len(pieces)
    scores = [0.0] * 259 + [float(len(p)) for p in pieces]  # longer pieces merge first
    return tokens, scores, [int(t) for t in types]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    tokens, scores, types = vocab()
    n_vocab, d, ff = len(tokens), args.dim, args.dim * 8 // 3

    w = gguf.GGUFWriter(args.out, "llama")
    w.add_name("inferlab-tiny-random")
    w.add_context_length(args.ctx)
    w.add_embedding_length(d)
    w.add_block_count(args.layers)
    w.add_feed_forward_length(ff)
    w.add_head_count(args.heads)
    w.add_head_count_kv(args.heads)
    w.add_rope_dimension_count(d // args.heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_chat_template(CHATML)

    def mat(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) * 0.02).astype(np.float32)

    ones = np.ones(d, dtype=np.float32)
    w.add_tensor("token_embd.weight", mat(n_vocab, d))
    for i in range(args.layers):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", ones)
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(p + name + ".weight", mat(d, d))
        w.add_tensor(p + "ffn_norm.weight", ones)
        w.add_tensor(p + "ffn_gate.weight", mat(ff, d))
        w.add_tensor(p + "ffn_up.weight", mat(ff, d))
        w.add_tensor(p + "ffn_down.weight", mat(d, ff))
    w.add_tensor("output_norm.weight", ones)
    w.add_tensor("output.weight", mat(n_vocab, d))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"{args.out}: llama, {args.layers} layers, dim {d}, vocab {n_vocab}")


if __name__ == "__main__":
    main()
