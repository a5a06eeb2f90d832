"""Complaints (投诉): the nine-step flow on the approval engine, its deadlines,
escalation, the portal's view and the complaint card (投诉管理卡)."""
