"""FanToM (Kim et al., EMNLP 2023): theory of mind in information-asymmetric conversations.

``data`` reads the published ``fantom_v1.json`` and builds the questions as FanToM asks them,
``metrics`` holds its scoring rules and aggregate scores (All*, All, belief, answerability and
info-accessibility scores, each naming its protocol), ``judges`` decides free-response belief
answers (FanToM's embedding metric, an LLM judge, or "unavailable"), and ``run`` is
``python -m eval.fantom``.
"""
