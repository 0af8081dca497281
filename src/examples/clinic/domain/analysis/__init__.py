"""Heavy AI analysis of patient data: requested, run on its own queue, completed."""

from .events import AiAnalysisCompleted, AiAnalysisRequested

__all__ = ["AiAnalysisCompleted", "AiAnalysisRequested"]
