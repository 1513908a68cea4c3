"""The Backend screen: the screen (workers and flows), its panels, modals and messages."""
from console.screens.backend.modals import STEP_WIDTH, DrillReportModal, PathModal
from console.screens.backend.screen import ACTION_NAMES, BACKEND_ACTIONS, BackendScreen
from console.screens.backend.sides import TABLES, Side, postgres_settings, problem_text, short

__all__ = ["ACTION_NAMES", "BACKEND_ACTIONS", "STEP_WIDTH", "TABLES", "BackendScreen", "DrillReportModal", "PathModal",
           "Side", "postgres_settings", "problem_text", "short"]
