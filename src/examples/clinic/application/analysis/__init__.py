"""Heavy AI analysis: :class:`RequestAiAnalysis` publishes, two handlers (routine and urgent)
run it on the ``ai-processing`` queue (:func:`register_analysis_handlers`)."""

from .handlers import RunAiAnalysis
from .registration import AI_QUEUE, AI_TIMEOUT, Names, register_analysis_handlers
from .requests import RequestAiAnalysis

__all__ = [
    "AI_QUEUE",
    "AI_TIMEOUT",
    "Names",
    "RequestAiAnalysis",
    "RunAiAnalysis",
    "register_analysis_handlers",
]
