"""The Monitor screen: the screen (sampling loop, actions), a widget per tab, the rows they show."""
from console.screens.monitor.detail import QueryDetail
from console.screens.monitor.screen import MONITOR_ACTIONS, MonitorScreen

__all__ = ["MONITOR_ACTIONS", "MonitorScreen", "QueryDetail"]
