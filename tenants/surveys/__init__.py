"""Satisfaction surveys (满意度调查): questionnaires sent to tenants, their answers, the analysis report."""
