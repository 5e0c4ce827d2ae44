"""The embedded model's server: llama-cpp-python's OpenAI-compatible server, with grammars checked
the way llama.cpp's own server checks them.

llama-cpp-python puts a request's grammar (a JSON schema becomes one) first in its sampler chain,
so every generated token tests all 49,152 vocabulary entries against the grammar: 6-10 ms a token
on 2 CPU cores, about half again the model's own forward pass (13 ms), ~20% of an evaluation
run's server time (``bench/eval_throughput.py``). llama.cpp's server (``common/sampling.cpp``)
samples first, checks only the drawn token, and applies the grammar to the whole vocabulary only
when that token is not allowed. :func:`check_grammar_after_sampling` installs that order; the
rest of the server is llama-cpp-python's, unchanged.

What changes: greedy decoding (temperature 0, as the judge's first attempt) gives the same tokens
either way (the most likely token overall, when the grammar allows it, is also the most likely
allowed one); with temperature, a drawn token the grammar allows is kept, else the draw is redone
over the allowed tokens only, as in llama.cpp's server. Every reply still follows the grammar.

Run as a file, ``python agents/llama_server.py <llama_cpp.server arguments>``: it imports
llama_cpp only (not this package, which would load litellm into the server process).
"""

from __future__ import annotations

import ctypes
import math
import runpy
import sys
from pathlib import Path
from typing import Any

import numpy as np
from llama_cpp import Llama, _internals, llama_cpp

_ONE_LOGIT = np.zeros(1, dtype=np.single)  # any finite logit: the grammar turns a refused token's into -inf


class GrammarCheckedSampler:
    """A sampler chain without the grammar, and the grammar consulted after the draw.

    Offers what :class:`llama_cpp.Llama` asks of its sampler (``sample(ctx, idx)``), and accepts
    each returned token into both the chain (penalties, random state) and the grammar.
    """

    def __init__(
        self, chain: _internals.LlamaSampler, grammar: _internals.LlamaSampler, n_vocab: int
    ) -> None:
        self.chain = chain
        self.grammar = grammar
        self.n_vocab = n_vocab
        self._all = _internals.LlamaTokenDataArray(n_vocab=n_vocab)
        self._one = _internals.LlamaTokenDataArray(n_vocab=1)

    def _candidates(self, ctx: _internals.LlamaContext, idx: int) -> _internals.LlamaTokenDataArray:
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx.ctx, idx), shape=(self.n_vocab,))
        return self._fresh(self._all, logits)

    @staticmethod
    def _fresh(array: _internals.LlamaTokenDataArray, logits: Any) -> _internals.LlamaTokenDataArray:
        array.copy_logits(logits)
        # samplers may move the data pointer and always set the selection: start from scratch
        array.candidates.data = array.candidates_data.ctypes.data_as(llama_cpp.llama_token_data_p)
        array.candidates.selected = -1
        return array

    def _draw(self, sampler: _internals.LlamaSampler, array: _internals.LlamaTokenDataArray) -> int:
        llama_cpp.llama_sampler_apply(sampler.sampler, ctypes.byref(array.candidates))
        selected = array.candidates.selected
        if not 0 <= selected < array.candidates.size:
            raise RuntimeError(f"the sampler selected no token (index {selected} of {array.candidates.size})")
        return int(array.candidates.data[selected].id)

    def allows(self, token: int) -> bool:
        """Whether the grammar, in its current state, allows ``token`` next."""
        one = self._fresh(self._one, _ONE_LOGIT)
        one.candidates_data.id[0] = token
        llama_cpp.llama_sampler_apply(self.grammar.sampler, ctypes.byref(one.candidates))
        return not math.isinf(float(one.candidates_data.logit[0]))

    def sample(self, ctx: _internals.LlamaContext, idx: int = -1) -> int:
        """Draw the next token at ``idx``: unconstrained first, over the allowed tokens if that fails."""
        token = self._draw(self.chain, self._candidates(ctx, idx))
        if not self.allows(token):
            candidates = self._candidates(ctx, idx)
            llama_cpp.llama_sampler_apply(self.grammar.sampler, ctypes.byref(candidates.candidates))
            token = self._draw(self.chain, candidates)
        self.grammar.accept(token)
        self.chain.accept(token)
        return token


_STOCK_INIT_SAMPLER = Llama._init_sampler


def _init_sampler(self: Llama, *args: Any, grammar: Any = None, **kwargs: Any) -> Any:
    chain = _STOCK_INIT_SAMPLER(self, *args, grammar=None, **kwargs)
    if grammar is None:
        return chain
    checker = _internals.LlamaSampler()
    checker.add_grammar(self._model, grammar)
    return GrammarCheckedSampler(chain, checker, self._n_vocab)


def check_grammar_after_sampling(llama_class: type[Llama] = Llama) -> None:
    """Make every ``llama_class`` model check grammars after the draw (see the module docstring)."""
    llama_class._init_sampler = _init_sampler  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    """Run llama-cpp-python's server with ``argv`` as its arguments, grammars checked after the draw."""
    check_grammar_after_sampling()
    sys.argv = ["llama_cpp.server", *argv]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    # run as a file, this folder is first on sys.path: keep its modules from shadowing the server's imports
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != here]
    main(sys.argv[1:])
